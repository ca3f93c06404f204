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

from sqlalchemy import Engine

from bot.processes.periodic import Periodic

log = logging.getLogger(__name__)
CHECKPOINT_SECONDS = 1.0


class WalCheckpointer:
    """Checkpoints one SQLite file's WAL every ``interval`` seconds (``start``/``stop``)."""

    def __init__(self, engine: Engine, interval: float = CHECKPOINT_SECONDS) -> None:
        self._engine = engine
        self._passes = Periodic("wal-checkpoints", self.checkpoint, interval, log, "WAL checkpoint failed")

    def start(self) -> None:
        """Start the thread (its first checkpoint at once)."""
        self._passes.start()

    def stop(self) -> None:
        """Stop the thread, then checkpoint once more."""
        self._passes.stop(timeout=30)
        try:
            self.checkpoint()
        except Exception:
            log.exception("WAL checkpoint failed")

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (1 when it could not run at all, frames in the log, frames copied)."""
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        busy, frames, copied = (int(value) for value in row)
        return busy, frames, copied


def checkpointer_for(engine: Engine, interval: float = CHECKPOINT_SECONDS) -> WalCheckpointer | None:
    """A checkpointer for an engine on a SQLite file; None for other databases (and in-memory SQLite)."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:") or "mode=memory" in database:
        return None
    return WalCheckpointer(engine, interval)
