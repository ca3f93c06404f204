"""One deploy at a time per deployment in a process: a run's deploy and its record, or a reconcile step,
never both at once (the reconcile loop would otherwise restore the version the record named a moment
before the run wrote the new one)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from bot.store import DeploymentKey


class DeployGuard:
    """A lock per deployment key, for the threads of one process."""

    def __init__(self) -> None:
        self._locks: dict[DeploymentKey, threading.Lock] = {}
        self._lock = threading.Lock()

    def _for(self, key: DeploymentKey) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    @contextlib.contextmanager
    def hold(self, key: DeploymentKey) -> Iterator[None]:
        """Hold ``key``, waiting for whoever holds it."""
        with self._for(key):
            yield

    @contextlib.contextmanager
    def try_hold(self, key: DeploymentKey) -> Iterator[bool]:
        """Hold ``key`` if free right now; yields whether it is held (the reconcile loop skips busy keys)."""
        lock = self._for(key)
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
