"""SQLite's WAL checkpoints on a thread of their own.

SQLite copies its write-ahead log back into the database file (a checkpoint, with its fsyncs) in the commit
that finds the log past 1,000 pages: by default whichever writer that is — a webhook intake's group commit,
whose requests then wait for it (17 ms against 0.06 for a commit, measured on this 2-core machine), or the
acknowledger's, whose "queued" status then waits. ``modelgate serve``'s engines turn that off
(``wal_autocheckpoint=0``, ``create_db_engine(…, background_checkpoints=True)``) and every process of it
checkpoints on this thread instead, every second, in PASSIVE mode: it never waits for readers or writers
(what it cannot copy yet it copies next time) and Python's sqlite3 releases the interpreter meanwhile.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

log = logging.getLogger(__name__)
CHECKPOINT_SECONDS = 1.0


class WalCheckpointer:
    """Checkpoints one SQLite file's WAL every ``interval`` seconds (``start``/``stop``)."""

    def __init__(self, engine: Engine, interval: float = CHECKPOINT_SECONDS) -> None:
        self._engine, self._interval = engine, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, after one last checkpoint."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (1 when it could not run at all, frames in the log, frames copied)."""
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        busy, frames, copied = (int(value) for value in row)
        return busy, frames, copied

    def _loop(self) -> None:
        while True:
            stopping = self._stop.wait(self._interval)
            try:
                self.checkpoint()
            except Exception as exc:  # the database is busy or gone: next time
                log.warning("WAL checkpoint failed: %s: %s", type(exc).__name__, exc)
            if stopping:
                return


def checkpointer_for(engine: Engine, interval: float = CHECKPOINT_SECONDS) -> WalCheckpointer | None:
    """A checkpointer for an engine on a SQLite file; None for other databases (and in-memory SQLite)."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:") or "mode=memory" in database:
        return None
    return WalCheckpointer(engine, interval)
