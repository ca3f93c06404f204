"""SQLite writers take turns on a database file: the threads of a process on a lock, the processes on
``flock`` of ``<database>.writer``. SQLite's own wait for its write lock polls in sleeps of 1 to 100 ms,
so a writer that found it taken lost milliseconds after it was free again; the queue hands the turn over
at once. SQLite's locking stays what keeps the data right: this only orders the writers.

``writer_turn(engine, wait=False)`` asks for the turn without waiting: the webhook intake's event loop
keeps taking requests (its batch grows) while another process commits, instead of sleeping."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

WAIT_SECONDS = 5.0  # SQLite's busy_timeout
POLL_SECONDS = 0.0002


class _WriterQueue:
    """One writer at a time on a SQLite file (see the module note). Re-entrant in a thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.pid = os.getpid()
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._locked = False

    @contextmanager
    def held(self, wait: bool = True) -> Iterator[bool]:
        """The turn: True once taken. ``wait``: for at most ``WAIT_SECONDS`` (then True all the same, and
        SQLite's own wait decides); without ``wait``, False at once when another writer has it."""
        if not self._lock.acquire(timeout=WAIT_SECONDS if wait else 0):
            yield not wait
            return
        try:
            if self._depth == 0:
                self._locked = self._flock(wait)
                if not self._locked and not wait:
                    yield False
                    return
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0 and self._locked and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    self._locked = False
        finally:
            self._lock.release()

    def _flock(self, wait: bool) -> bool:
        """Take the file lock, polling every 0.2 ms while ``wait`` (another process's commit takes a
        fraction of a ms); False when not taken (at once without ``wait``, else after ``WAIT_SECONDS``)."""
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if not wait or time.monotonic() > deadline:
                    return False
                time.sleep(POLL_SECONDS)


_QUEUES: dict[str, _WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def writer_turn(engine: Engine, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
    """The writer's turn on ``engine``'s SQLite file (True: taken; False only without ``wait``, when
    another writer has it); always True where there is nothing to queue on (PostgreSQL, memory)."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return contextlib.nullcontext(True)
    queue = _QUEUES.get(database)
    if queue is None or queue.pid != os.getpid():  # a forked child queues anew
        with _QUEUES_LOCK:
            queue = _QUEUES.get(database)
            if queue is None or queue.pid != os.getpid():
                path = Path(database).expanduser().resolve()
                queue = _QUEUES[database] = _WriterQueue(path.with_name(path.name + ".writer"))
    return queue.held(wait)
