"""SQLite writers take turns on a database file: the threads of a process on a lock, the processes on
``flock`` of ``<database>.writer``. SQLite's own wait for its write lock polls in sleeps of 1 to 100 ms,
so a writer that found it taken lost milliseconds after it was free again; the queue hands the turn over
at once. SQLite's locking stays what keeps the data right: this only orders the writers.

``writer_turn(engine, wait=False)`` asks for the turn without waiting: the webhook intake's event loop
keeps taking requests (its batch grows) while another process commits, instead of sleeping. Told no, it
asks ``when_turn_free(engine, callback)`` to call it back the moment the other writer lets go (a thread
waits on the lock for it): polling on a timer found the turn free a millisecond late on average, and
each intake process idled a quarter of the time under load (bench/README.md)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

log = logging.getLogger(__name__)

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
        self._free_callbacks: queue.SimpleQueue[Callable[[], object]] | None = None
        self._watch_started = threading.Lock()

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
            self._fd = self._open()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if not wait or time.monotonic() > deadline:
                    return False
                time.sleep(POLL_SECONDS)

    def _open(self) -> int:
        """A descriptor of the lock file of its own (``flock`` locks belong to the open file)."""
        return os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def when_free(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` (on another thread) once no other process's writer has the turn."""
        with self._watch_started:
            if self._free_callbacks is None:
                self._free_callbacks = queue.SimpleQueue()
                threading.Thread(target=self._watch, args=(self._free_callbacks,), name="writer-turn-watch",
                                 daemon=True).start()
        self._free_callbacks.put(callback)

    def _watch(self, callbacks: queue.SimpleQueue[Callable[[], object]]) -> None:
        """Wait for the file lock on a descriptor of its own and give it back at once (flock: another open
        file of the same file conflicts even in this process), then call back whoever asked meanwhile."""
        fd = self._open()
        while True:
            waiting = [callbacks.get()]
            fcntl.flock(fd, fcntl.LOCK_EX)
            fcntl.flock(fd, fcntl.LOCK_UN)
            while not callbacks.empty():
                waiting.append(callbacks.get())
            for callback in waiting:
                try:
                    callback()
                except Exception:  # a closed loop: its writer is gone
                    log.debug("writer-turn callback failed", exc_info=True)


_QUEUES: dict[str, _WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def writer_turn(engine: Engine, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
    """The writer's turn on ``engine``'s SQLite file (True: taken; False only without ``wait``, when
    another writer has it); always True where there is nothing to queue on (PostgreSQL, memory)."""
    writers = _queue(engine)
    return contextlib.nullcontext(True) if writers is None else writers.held(wait)


def when_turn_free(engine: Engine, callback: Callable[[], object]) -> None:
    """Call ``callback`` (on another thread) once no other process has the writer's turn on ``engine``'s
    file, for a writer refused by ``writer_turn(engine, wait=False)``; at once where nothing queues."""
    writers = _queue(engine)
    if writers is None:
        callback()
    else:
        writers.when_free(callback)


def _queue(engine: Engine) -> _WriterQueue | None:
    """The writers' queue of ``engine``'s SQLite file; None where there is nothing to queue on."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    writers = _QUEUES.get(database)
    if writers is None or writers.pid != os.getpid():  # a forked child queues anew
        with _QUEUES_LOCK:
            writers = _QUEUES.get(database)
            if writers is None or writers.pid != os.getpid():
                path = Path(database).expanduser().resolve()
                writers = _QUEUES[database] = _WriterQueue(path.with_name(path.name + ".writer"))
    return writers
