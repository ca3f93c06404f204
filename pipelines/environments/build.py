"""Building an environment with uv, in sandboxed phases.

1. Network on, index only: ``uv venv`` and ``uv pip install --no-build`` of the requirements, the job
   runtime and what the repository's own packages need. Wheels only, so no code of the repository or of
   any package runs while the network is on; uv's cache is writable here and nowhere else.
2. Only when repository paths are installed, network off: ``uv pip install --offline --no-deps
   --no-build-isolation --no-cache`` of a throwaway copy of the repository (writable, because build
   backends write into the source tree). The repository's build backend runs here, without network,
   without the cache. Editable requests are installed non-editable: the checkout goes away.
3. Network off: the environment's Python compiles the modules to bytecode (``-I -S``: no ``.pth``
   file runs; packages' own test suites are skipped). Jobs get the environment read-only, so
   without this each of them would compile pandas and scikit-learn again on import (seconds).
4. Network off: ``uv pip freeze`` lists the installed packages into the environment (``frozen``), for
   the requirements each run records with its model.

Files are copied out of uv's cache (``--link-mode copy``) so that nothing a build runs can alter
the cache through a hard link.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.environments.errors import EnvironmentBuildError, EnvironmentRequestError
from pipelines.environments.frozen import freeze, write_frozen
from pipelines.environments.interpreter import Interpreter
from pipelines.environments.local_packages import local_package_requirements
from pipelines.environments.request import EnvironmentRequest
from pipelines.environments.runtime import job_runtime
from pipelines.environments.uvtool import ca_bundle_file, run_uv, uv_environment, uv_message, uv_runtime
from pipelines.sandbox import NETWORK_FILES, Isolation, Sandbox


@dataclass(frozen=True)
class BuildSettings:
    """Where and how builds run (the operator's choices)."""

    isolation: Isolation
    uv_cache: Path
    index_url: str | None = None
    runtime: tuple[str, ...] | None = None  # the job runtime every environment holds (None: job_runtime())


def build_environment(request: EnvironmentRequest, repo_dir: Path | None, interpreter: Interpreter,
                      target: Path, settings: BuildSettings) -> list[str]:
    """Build the environment for ``request`` and move it to ``target`` (atomically, from a temporary
    folder beside it); the build's output lines. EnvironmentBuildError with uv's message on failure."""
    work = Path(tempfile.mkdtemp(prefix=f".build-{target.name[:16]}-", dir=target.parent))
    try:
        env_dir = work / "env"
        env_dir.mkdir()
        log: list[str] = []
        _install_from_index(request, repo_dir, interpreter, env_dir, work, settings, log)
        if request.local_paths:
            if repo_dir is None:
                raise EnvironmentBuildError("the request installs repository paths but names no repository")
            _install_local_paths(request.local_paths, repo_dir, interpreter, env_dir, work, settings, log)
        _compile_bytecode(interpreter, env_dir, settings, log)
        _record_packages(interpreter, env_dir, settings, log)
        env_dir.rename(target)
        return log
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _install_from_index(request: EnvironmentRequest, repo_dir: Path | None, interpreter: Interpreter,
                        env_dir: Path, work: Path, settings: BuildSettings, log: list[str]) -> None:
    lines = list(request.requirements)
    try:
        local = local_package_requirements(repo_dir, request.local_paths) if repo_dir is not None else []
    except EnvironmentRequestError as exc:
        raise EnvironmentBuildError(exc.message) from exc
    runtime = job_runtime() if settings.runtime is None else settings.runtime
    lines += [line for line in [*runtime, *local] if line not in lines]
    listing = work / "requirements"
    listing.mkdir()
    (listing / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    readable = [listing]
    ca_bundle = ca_bundle_file()
    if ca_bundle is not None and not any(ca_bundle.is_relative_to(name) for name in NETWORK_FILES):
        readable.append(ca_bundle)
    settings.uv_cache.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(settings.isolation, network=True, writable=[env_dir, settings.uv_cache],
                      readable=readable, extra_runtime=[*uv_runtime(), interpreter.prefix])
    env = uv_environment(settings.uv_cache, settings.index_url, network=True)
    _run(sandbox, env, "creating the virtualenv",
         ["venv", "--relocatable", "--python", str(interpreter.executable), str(env_dir)], log)
    _run(sandbox, env, "installing the requirements",
         ["pip", "install", "--python", str(env_dir / "bin" / "python"), "--no-build", "--link-mode", "copy",
          "-r", str(listing / "requirements.txt")], log)


def _install_local_paths(local_paths: tuple[str, ...], repo_dir: Path, interpreter: Interpreter,
                         env_dir: Path, work: Path, settings: BuildSettings, log: list[str]) -> None:
    source = work / "source"
    shutil.copytree(repo_dir, source, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    sandbox = Sandbox(settings.isolation, network=False, writable=[env_dir, source],
                      extra_runtime=[*uv_runtime(), interpreter.prefix], workdir=source)
    paths = [str(source / path) for path in local_paths]
    _run(sandbox, uv_environment(), "installing the repository's own packages (no network)",
         ["pip", "install", "--python", str(env_dir / "bin" / "python"), "--offline", "--no-deps",
          "--no-build-isolation", "--no-cache", "--link-mode", "copy", *paths], log)


_PACKAGE_TESTS = r"/tests?/"  # packages' own test suites: half the files, never imported by a job


def _compile_bytecode(
    interpreter: Interpreter, env_dir: Path, settings: BuildSettings, log: list[str]
) -> None:
    """Compile the installed modules (no network, no ``.pth``); a module that does not compile stays
    source (as an import of it would), so the build goes on."""
    python = env_dir / "bin" / "python"
    packages = sorted(env_dir.glob("lib/python*/site-packages"))
    sandbox = Sandbox(settings.isolation, writable=[env_dir], extra_runtime=[interpreter.prefix])
    argv = sandbox.command([str(python), "-I", "-S", "-m", "compileall", "-q", "-j", "0",
                            "-x", _PACKAGE_TESTS, *map(str, packages)])
    completed = subprocess.run(argv, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}, capture_output=True,
                               text=True, timeout=1800, check=False, stdin=subprocess.DEVNULL)
    log += [f"$ python -I -S -m compileall ({completed.returncode})", *completed.stdout.splitlines()[-20:]]


def _record_packages(interpreter: Interpreter, env_dir: Path, settings: BuildSettings,
                     log: list[str]) -> None:
    """List the installed packages into the environment, last: runs read the list instead of asking uv."""
    lines = freeze(env_dir, [env_dir, interpreter.prefix], settings.isolation)
    write_frozen(env_dir, lines)
    log += ["$ uv pip freeze", *lines]


def _run(sandbox: Sandbox, env: dict[str, str], step: str, args: list[str], log: list[str]) -> None:
    """Run one uv step, its command and output appended to ``log``; EnvironmentBuildError on failure."""
    result = run_uv(sandbox, [*args, "--color", "never"], env)
    log += [f"$ uv {' '.join(args)}", *result.lines]
    if result.code != 0:
        raise EnvironmentBuildError(f"{step} failed: {uv_message(result.lines)}", log)
