"""The environment cache: one read-only virtualenv per key under a root folder, built once, shared by
the runs that need it, the least recently used evicted beyond a size cap."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.environments.build import BuildSettings, build_environment
from pipelines.environments.interpreter import Interpreter, find_interpreter
from pipelines.environments.key import environment_key
from pipelines.environments.locks import hold_exclusive, hold_shared, lock_file, try_exclusive
from pipelines.environments.request import EnvironmentRequest
from pipelines.sandbox import Isolation

LAST_USED = ".modelgate-last-used"
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Environment:
    """A ready virtualenv for a job: run ``python``; a sandbox must show ``runtime`` read-only."""

    key: str
    path: Path  # the virtualenv's root
    python: Path  # path / "bin" / "python"
    source: str  # where its requirements came from, e.g. "requirements.txt"
    python_version: str  # e.g. "3.11.7"
    built: bool  # False: reused from the cache
    seconds: float  # time to find or build it
    log: tuple[str, ...]  # the build's output lines (empty when reused)
    runtime: tuple[Path, ...]  # the virtualenv and its base interpreter's installation


class EnvironmentCache:
    """Environments under ``root`` (``<root>/<key>``, locks in ``<root>/locks``), at most ``cap_bytes``
    in total after a build (None: no cap); uv's download cache in ``uv_cache`` (default
    ``<root>/uv-cache``), packages from ``index_url`` (default: uv's, PyPI). Every environment holds
    ``runtime`` besides its requirements (default: ``job_runtime()``, what modelgate's job imports)."""

    def __init__(self, root: Path, cap_bytes: int | None, isolation: Isolation, index_url: str | None = None,
                 uv_cache: Path | None = None, runtime: Sequence[str] | None = None) -> None:
        self.root = root.resolve()
        self.cap_bytes = cap_bytes
        self.settings = BuildSettings(isolation, (uv_cache or self.root / "uv-cache").resolve(), index_url,
                                      None if runtime is None else tuple(runtime))

    @contextmanager
    def use(self, request: EnvironmentRequest, repo_dir: Path | None, scope: str) -> Iterator[Environment]:
        """The environment for ``request`` (``scope``: "base" or "fork:<owner/repo>"), built when missing;
        it is not evicted until the block ends. Concurrent callers needing the same new environment
        build it once. Raises EnvironmentRequestError / EnvironmentBuildError."""
        started = time.monotonic()
        interpreter = find_interpreter(request.python)
        key = environment_key(request, repo_dir, scope, self.settings.runtime)
        target = self.root / key
        self.root.mkdir(parents=True, exist_ok=True)
        with lock_file(self.root / "locks" / f"{key}.lock") as fd:
            hold_shared(fd)
            built, log = False, list[str]()
            while not target.is_dir():  # again after taking the lock back: it may have been evicted
                hold_exclusive(fd)
                if not target.is_dir():
                    self._remove_stale_builds(key)
                    log = build_environment(request, repo_dir, interpreter, target, self.settings)
                    built = True
                hold_shared(fd)
            (target / LAST_USED).touch()
            environment = _environment(key, target, request, interpreter, built, started, log)
            if built:
                self.evict()
            yield environment

    def evict(self) -> list[str]:
        """Remove the least recently used environments until the cache fits its cap, skipping those in
        use (their lock is held); the keys removed."""
        if self.cap_bytes is None:
            return []
        entries = sorted((_last_used(path), path.name, _size(path)) for path in self._environments())
        total = sum(size for _, _, size in entries)
        removed = []
        for _, key, size in entries:
            if total <= self.cap_bytes:
                break
            with lock_file(self.root / "locks" / f"{key}.lock") as fd:
                if not try_exclusive(fd) or not (self.root / key).is_dir():
                    continue
                doomed = Path(tempfile.mkdtemp(prefix=f".evict-{key[:16]}-", dir=self.root))
                (self.root / key).rename(doomed / key)
            shutil.rmtree(doomed, ignore_errors=True)
            total -= size
            removed.append(key)
        return removed

    def total_bytes(self) -> int:
        """The size of every cached environment."""
        return sum(_size(path) for path in self._environments())

    def _environments(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [path for path in self.root.iterdir() if _KEY.match(path.name) and path.is_dir()]

    def _remove_stale_builds(self, key: str) -> None:
        """Leftovers of a build of ``key`` that died (the caller holds the key's exclusive lock)."""
        for leftover in self.root.glob(f".build-{key[:16]}-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _environment(key: str, target: Path, request: EnvironmentRequest, interpreter: Interpreter, built: bool,
                 started: float, log: list[str]) -> Environment:
    return Environment(key=key, path=target, python=target / "bin" / "python", source=request.source,
                       python_version=interpreter.version, built=built, seconds=time.monotonic() - started,
                       log=tuple(log), runtime=(target, interpreter.prefix))


def _last_used(path: Path) -> float:
    marker = path / LAST_USED
    return marker.stat().st_mtime if marker.exists() else path.stat().st_mtime


def _size(path: Path) -> int:
    total = 0
    for directory, _, names in os.walk(path):
        for name in names:
            total += os.lstat(os.path.join(directory, name)).st_size
    return total
