"""LockStore: named locks held by runs, valid across threads, processes and replicas.

A lock belongs to a run and is free again when that run is no longer ``running`` (finished,
or re-queued after its worker died), so a crash never leaves a lock behind. Production runs
hold ``model:<name>`` while they evaluate against the champion, promote and deploy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, delete, select

from bot.store.engine import write_transaction
from bot.store.models import locks, runs
from bot.store.queue import upsert_insert
from bot.store.types import RunState, utc, utc_now


class LockStore:
    """Acquire and release named locks on behalf of runs."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def acquire(self, name: str, run_id: int) -> bool:
        """Take ``name`` for ``run_id`` unless another running run holds it (one atomic upsert)."""
        now = utc(self._clock())
        live_others = select(runs.c.id).where(runs.c.id != run_id, runs.c.state == RunState.RUNNING.value)
        held_by_other = locks.c.run_id.in_(live_others)  # locks.run_id: the existing row's holder
        with write_transaction(self._engine) as conn:
            stmt = upsert_insert(conn, locks).values(name=name, run_id=run_id, acquired_at=now)
            stmt = stmt.on_conflict_do_update(
                index_elements=["name"], set_={"run_id": run_id, "acquired_at": now}, where=~held_by_other
            )
            return conn.execute(stmt.returning(locks.c.run_id)).first() is not None

    def wait(self, name: str, run_id: int, should_stop: Callable[[], str | None], poll: float = 0.5) -> None:
        """Block until ``name`` is ours; raises LockWaitStopped when ``should_stop`` gives a reason."""
        while not self.acquire(name, run_id):
            reason = should_stop()
            if reason:
                raise LockWaitStopped(reason)
            time.sleep(poll)

    def release(self, name: str, run_id: int) -> None:
        """Give ``name`` up if ``run_id`` holds it."""
        with write_transaction(self._engine) as conn:
            conn.execute(delete(locks).where(locks.c.name == name, locks.c.run_id == run_id))

    def holder(self, name: str) -> int | None:
        """The run holding ``name`` (even if it is no longer running), or None."""
        with self._engine.connect() as conn:
            return conn.execute(select(locks.c.run_id).where(locks.c.name == name)).scalar()


class LockWaitStopped(Exception):
    """Waiting for a lock was given up (the run was asked to stop)."""
