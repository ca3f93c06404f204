"""A repository's ``uv.lock`` as requirement lines.

The lock is exported by uv itself (``uv export --frozen``) rather than parsed here: uv.lock stores a
resolution graph with per-edge markers, extras, dependency groups and forked resolutions, and walking it
correctly from the root project is exactly what ``uv export`` does. It runs in a sandbox without
network that sees only the repository, read-only; uv parses the files and runs no code of the repository.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.environments.errors import EnvironmentRequestError
from pipelines.environments.uvtool import run_uv, uv_environment, uv_message, uv_runtime
from pipelines.sandbox import Isolation, Sandbox

LOCK_FILE = "uv.lock"
EXPORT_ARGS = ("export", "--frozen", "--no-hashes", "--no-emit-project", "--no-dev", "--no-header",
               "--format", "requirements-txt", "--offline", "--no-python-downloads", "--color", "never")


def export_lock(repo_dir: Path, isolation: Isolation) -> list[str]:
    """The locked requirements of the root project's runtime dependencies (no dev group, the project
    itself left out); EnvironmentRequestError with uv's message when the lock cannot be read."""
    root = repo_dir.resolve()
    sandbox = Sandbox(isolation, readable=[root], workdir=root, extra_runtime=uv_runtime())
    result = run_uv(sandbox, [*EXPORT_ARGS, "--project", str(root)], uv_environment())
    if result.code != 0:
        raise EnvironmentRequestError(f"{LOCK_FILE}: uv could not export it: {uv_message(result.lines)}")
    return [line for line in result.out if line.strip() and not line.startswith((" ", "#"))]
