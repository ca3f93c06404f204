"""Acknowledging queued staging runs at intake (``bot.runs.acknowledger``): which runs still need it, the
acknowledger's claim on one, and the worker's wait for an acknowledgement being written.

The protocol, one column (``runs.acknowledgement``, see ``Acknowledgement``):
- the acknowledger takes a run only while it is queued and unacknowledged (→ "posting"), writes the
  queued check run and status, then marks it "posted";
- ``RunStore.claim`` marks an unacknowledged run "skipped", so the acknowledger never writes "queued"
  over a run a worker started; a worker that claims a run being acknowledged waits for "posted" first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy import update as sql_update

from bot.store.engine import write_transaction
from bot.store.models import runs
from bot.store.queue import run_record
from bot.store.types import Acknowledgement, RunRecord, RunState

QUEUED = RunState.QUEUED.value
POLL_SECONDS = 0.05


class AcknowledgementStore:
    """The runs table as the acknowledger and the claiming worker see it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def unacknowledged(self, delivery_guids: Sequence[str]) -> list[RunRecord]:
        """The queued, unacknowledged staging runs these deliveries created, oldest first."""
        if not delivery_guids:
            return []
        query = (select(runs).where(runs.c.delivery_guid.in_(list(delivery_guids)), runs.c.kind == "staging",
                                    runs.c.state == QUEUED, runs.c.acknowledgement.is_(None))
                 .order_by(runs.c.id))
        with self._engine.connect() as conn:
            return [run_record(row) for row in conn.execute(query)]

    def begin(self, run_id: int) -> bool:
        """Take the run for acknowledging: True only while it is queued and nobody acknowledged it."""
        stmt = (sql_update(runs)
                .where(runs.c.id == run_id, runs.c.state == QUEUED, runs.c.acknowledgement.is_(None))
                .values(acknowledgement=Acknowledgement.POSTING.value))
        with write_transaction(self._engine) as conn:
            return conn.execute(stmt).rowcount == 1

    def end(self, run_id: int) -> None:
        """The acknowledgement is written (or failed: the worker goes on either way)."""
        posted = Acknowledgement.POSTED.value
        stmt = sql_update(runs).where(runs.c.id == run_id).values(acknowledgement=posted)
        with write_transaction(self._engine) as conn:
            conn.execute(stmt)

    def ahead_of(self, run_id: int) -> int:
        """How many queued runs are older than this one (the ones workers take first)."""
        query = select(func.count()).select_from(runs).where(runs.c.state == QUEUED, runs.c.id < run_id)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def settled(self, run: RunRecord, timeout: float = 10.0) -> RunRecord:
        """``run`` once no acknowledgement of it is being written (re-read, with the check run it made);
        as it is after ``timeout`` seconds, or when it was not being acknowledged."""
        deadline = time.monotonic() + timeout
        while run.acknowledgement == Acknowledgement.POSTING.value and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            with self._engine.connect() as conn:
                run = run_record(conn.execute(select(runs).where(runs.c.id == run.id)).one())
        return run
