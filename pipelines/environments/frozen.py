"""The packages installed in an environment (``uv pip freeze``), listed once when it is built.

An environment never changes after its build (jobs get it read-only), so its list is written into it
(``FROZEN_FILE``) and every run reads that file instead of asking uv again: that starts the
environment's interpreter in a sandbox, 0.1–0.3 s per run. Environments built before the file existed
have none; their runs still ask uv.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from pipelines.environments.errors import EnvironmentBuildError
from pipelines.environments.uvtool import run_uv, uv_environment, uv_message, uv_runtime
from pipelines.sandbox import Isolation, Sandbox

FROZEN_FILE = ".modelgate-frozen.txt"


def freeze(env_dir: Path, runtime: Sequence[Path], isolation: Isolation) -> list[str]:
    """uv's ``name==version`` lines for the virtualenv ``env_dir``, whose interpreter needs ``runtime``
    (the virtualenv and its base installation). uv asks that interpreter, so it runs in a sandbox
    without network: a package may have installed a ``.pth`` file that runs at start-up."""
    sandbox = Sandbox(isolation, readable=[env_dir], extra_runtime=[*uv_runtime(), *runtime])
    python = env_dir / "bin" / "python"
    result = run_uv(sandbox, ["pip", "freeze", "--python", str(python), "--color", "never"], uv_environment())
    if result.code != 0:
        raise EnvironmentBuildError(f"listing the environment's packages failed: {uv_message(result.lines)}",
                                    result.lines)
    return result.out


def write_frozen(env_dir: Path, lines: Sequence[str]) -> None:
    """Write ``lines`` as ``env_dir``'s list. Whatever a build step left at that name goes first, and the
    file is created anew without following links: a repository's build backend had the folder writable."""
    path = env_dir / FROZEN_FILE
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write("".join(f"{line}\n" for line in lines))


def read_frozen(env_dir: Path) -> list[str] | None:
    """``env_dir``'s list as written at build time; None when it has none (built before the file existed)
    or when that name is anything but a regular file it can read (never followed as a link)."""
    try:
        fd = os.open(env_dir / FROZEN_FILE, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8") as file:
        return file.read().splitlines()
