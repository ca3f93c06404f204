"""DeliveryStore: idempotent, group-committed storage of webhook deliveries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine, func, select

from bot.store.engine import write_transaction
from bot.store.jobs import enqueue_jobs, upsert_insert
from bot.store.models import deliveries
from bot.store.types import DeliveryRecord, IncomingDelivery, JobRequest, utc, utc_now


class DeliveryStore:
    """Stores deliveries keyed by ``X-GitHub-Delivery`` and queues the runs they ask for."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def record_many(self, batch: Sequence[IncomingDelivery]) -> list[bool]:
        """Store a batch in ONE transaction; per delivery True if new, False if its GUID was
        already stored (or appears earlier in the batch). New deliveries' jobs are queued
        in the same transaction, coalesced with queued runs of the same key."""
        if not batch:
            return []
        now = utc(self._clock())
        first: dict[str, int] = {}
        for index, delivery in enumerate(batch):
            first.setdefault(delivery.guid, index)
        rows = [
            {
                "guid": d.guid,
                "event": d.event,
                "action": d.action,
                "installation_id": d.installation_id,
                "repository": d.repository,
                "outcome": d.outcome,
                "summary": d.summary,
                "received_at": now,
            }
            for d in sorted((batch[i] for i in first.values()), key=lambda d: d.guid)
        ]
        with write_transaction(self._engine) as conn:
            stmt = upsert_insert(conn, deliveries).on_conflict_do_nothing(index_elements=["guid"])
            inserted = set(conn.execute(stmt.returning(deliveries.c.guid), rows).scalars())
            jobs: list[tuple[JobRequest, str | None]] = [
                (job, guid)
                for guid, i in first.items()
                if guid in inserted and (job := batch[i].job) is not None
            ]
            enqueue_jobs(conn, jobs, now)
        return [first[d.guid] == i and d.guid in inserted for i, d in enumerate(batch)]

    def get(self, guid: str) -> DeliveryRecord | None:
        """The stored delivery with this GUID, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.guid == guid)).first()
        if row is None:
            return None
        data = dict(row._mapping)
        data["received_at"] = utc(data["received_at"])
        return DeliveryRecord(**data)

    def count(self) -> int:
        """How many deliveries are stored."""
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
