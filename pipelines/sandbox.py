"""Running untrusted code (a repository's training job, a scoring server) isolated with bubblewrap.

``bwrap`` (the default) gives the process new user, pid, ipc, uts, cgroup and network namespaces,
drops every capability, and mounts a minimal filesystem: the Python runtime and the system
libraries read-only, the paths the caller names (read-only or writable), a tmpfs ``/tmp``, a
minimal ``/dev`` and the namespace's own ``/proc``. Nothing else of the host is visible: not the
data directory, the App's key, ``.env``, the databases or other runs. ``--die-with-parent`` plus
the pid namespace: when the job's process ends, everything it started ends with it.

``none`` runs the command as a plain subprocess; it exists for development on machines without
bubblewrap and must be chosen explicitly.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pipelines

SANDBOX_UID = 65534  # "nobody" inside the sandbox
SYSTEM_DIRS = ("/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
               "/etc/localtime", "/etc/mime.types")
NETWORK_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/ssl", "/etc/ca-certificates", "/etc/nsswitch.conf")
MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


class Isolation(StrEnum):
    """How untrusted code runs (``MODELGATE_ISOLATION``)."""

    BWRAP = "bwrap"
    NONE = "none"


class SandboxError(Exception):
    """The sandbox cannot be set up (bubblewrap missing or refused, a secret path inside the runtime)."""


@dataclass(frozen=True)
class Sandbox:
    """One isolated command: which paths it sees and whether it has a network."""

    isolation: Isolation
    readable: Sequence[Path] = ()
    writable: Sequence[Path] = ()
    network: bool = False
    workdir: Path | None = None
    extra_runtime: Sequence[Path] = field(default_factory=tuple)
    tmp_bytes: int | None = None  # size of its tmpfs /tmp (it is memory); None: half of RAM

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` wrapped for this sandbox (unchanged with no isolation)."""
        if self.isolation == Isolation.NONE:
            return list(argv)
        return [*bwrap_arguments(self), "--", *argv]


def bwrap_arguments(sandbox: Sandbox) -> list[str]:
    """The ``bwrap`` command line (without ``--`` and the command) for ``sandbox``."""
    binary = shutil.which("bwrap")
    if binary is None:
        raise SandboxError("MODELGATE_ISOLATION=bwrap but bubblewrap is not installed "
                           "(Debian/Ubuntu: apt-get install bubblewrap); see the README's Security model")
    args = [binary, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "modelgate-job"]
    if sandbox.network:
        args.append("--share-net")
    # the fresh mounts first: what is bound later may live below /tmp (a virtualenv in /tmp/…)
    args += ["--proc", "/proc", "--dev", "/dev"]
    if sandbox.tmp_bytes:
        args += ["--size", str(sandbox.tmp_bytes)]
    args += ["--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for name in MERGED_USR_LINKS:
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    shown = [*SYSTEM_DIRS, *map(str, runtime_paths()), *map(str, sandbox.extra_runtime)]
    for name in [*shown, *(NETWORK_FILES if sandbox.network else ())]:
        args += ["--ro-bind-try", name, name]
    for path in sandbox.readable:
        args += ["--ro-bind", str(Path(path).resolve()), str(Path(path).resolve())]
    for path in sandbox.writable:
        args += ["--bind", str(Path(path).resolve()), str(Path(path).resolve())]
    if sandbox.workdir is not None:
        args += ["--chdir", str(Path(sandbox.workdir).resolve())]
    return args


def runtime_paths() -> list[Path]:
    """What a job needs to run Python and modelgate's job code: the interpreter's prefixes (base and
    virtualenv) and the folder holding the ``pipelines`` package (only that package, read-only)."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), package_root() / "pipelines"}
    executable = Path(sys.executable).resolve()
    if not any(executable.is_relative_to(path) for path in paths):
        paths.add(executable.parent)
    return sorted(paths)


def package_root() -> Path:
    """The folder that holds the ``pipelines`` package (what goes on a job's PYTHONPATH)."""
    return Path(pipelines.__file__).resolve().parent.parent


def exposed_secrets(secret_paths: Sequence[Path | None]) -> list[Path]:
    """The paths among ``secret_paths`` that a sandbox would show (they lie under the runtime it
    mounts); the App refuses to start jobs then, rather than leak them."""
    mounted = [Path(p) for p in [*SYSTEM_DIRS, *map(str, runtime_paths())]]
    found = []
    for secret in secret_paths:
        if secret is None:
            continue
        resolved = Path(secret).resolve()
        if any(resolved == root or resolved.is_relative_to(root) for root in mounted):
            found.append(resolved)
    return found


def check_isolation(isolation: Isolation, secret_paths: Sequence[Path | None] = ()) -> None:
    """Raise SandboxError unless ``isolation`` works here and hides ``secret_paths``."""
    if isolation == Isolation.NONE:
        return
    import subprocess

    exposed = exposed_secrets(secret_paths)
    if exposed:
        names = ", ".join(map(str, exposed))
        raise SandboxError(f"{names} would be visible to jobs: it lies inside the Python runtime that "
                           "jobs see read-only; move it out of the installation")
    probe = Sandbox(isolation).command([sys.executable, "-S", "-c", "pass"])
    completed = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False)
    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()[-1:] or [f"exit code {completed.returncode}"]
        raise SandboxError(f"bubblewrap cannot create a sandbox here: {detail[0]} (in a container, "
                           "bubblewrap needs user namespaces; see the README's Security model)")
