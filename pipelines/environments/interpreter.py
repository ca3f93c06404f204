"""Which host interpreter an environment is built on."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipelines.environments.errors import EnvironmentRequestError
from pipelines.environments.uvtool import uv_binary, uv_environment

_PROBE = "import sys; print('.'.join(map(str, sys.version_info[:3]))); print(sys.base_prefix)"


@dataclass(frozen=True)
class Interpreter:
    """A host Python: its executable, full version ("3.11.7") and installation prefix (what a sandbox
    must show for an environment built on it to run)."""

    executable: Path
    version: str
    prefix: Path


def default_python() -> str:
    """This interpreter's major.minor: the version used when a repository names none."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def find_interpreter(python: str | None) -> Interpreter:
    """The host interpreter for ``python`` ("3.11", "3.11.7"; None: this interpreter's major.minor).

    Only interpreters installed on the host count (uv never downloads one); EnvironmentRequestError
    when none matches."""
    return _find(python or default_python())


@lru_cache(maxsize=32)
def _find(python: str) -> Interpreter:
    if _matches(python, _version_of_this()):
        return _probe(Path(getattr(sys, "_base_executable", sys.executable)))
    argv = [str(uv_binary()), "python", "find", "--system", "--no-project", "--python-preference",
            "only-system", python]
    found = subprocess.run(argv, env=uv_environment(), capture_output=True, text=True, timeout=60,
                           check=False, cwd="/", stdin=subprocess.DEVNULL)
    if found.returncode != 0 or not found.stdout.strip():
        raise EnvironmentRequestError(f"Python {python} is not installed on the App's host (environment."
                                      f"python; {default_python()} is, and is the default)")
    return _probe(Path(found.stdout.strip().splitlines()[-1]))


def _version_of_this() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def _matches(requested: str, full: str) -> bool:
    return full == requested or full.startswith(requested + ".")


def _probe(executable: Path) -> Interpreter:
    probe = subprocess.run([str(executable), "-I", "-S", "-c", _PROBE], capture_output=True, text=True,
                           timeout=60, check=True, stdin=subprocess.DEVNULL)
    version, prefix = probe.stdout.split("\n")[:2]
    return Interpreter(executable=executable.resolve(), version=version, prefix=Path(prefix).resolve())
