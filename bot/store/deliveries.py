"""DeliveryStore: idempotent, group-committed storage of webhook deliveries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, func, select

from bot.store.engine import is_postgres, write_transaction
from bot.store.models import deliveries
from bot.store.queue import enqueue_jobs, upsert_insert
from bot.store.types import DeliveryRecord, IncomingDelivery, JobRequest, utc, utc_now


@dataclass(frozen=True)
class StoredBatch:
    """What ``DeliveryStore.record`` did: per delivery whether it was new, and the GUIDs of the
    deliveries whose job became a run of its own (the others joined a queued run, or queued nothing)."""

    new: list[bool]
    queued_runs: frozenset[str]


class DeliveryStore:
    """Stores deliveries keyed by ``X-GitHub-Delivery`` and queues the runs they ask for."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def record_many(self, batch: Sequence[IncomingDelivery]) -> list[bool]:
        """Store a batch in ONE transaction; per delivery True if new, False if its GUID was
        already stored (or appears earlier in the batch). New deliveries' jobs are queued
        in the same transaction, coalesced with queued runs of the same key."""
        return self.record(batch).new

    def record(self, batch: Sequence[IncomingDelivery]) -> StoredBatch:
        """``record_many``, also telling which deliveries queued a run of their own (rather than
        joining a queued run with the same key)."""
        if not batch:
            return StoredBatch([], frozenset())
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
        created: set[int] = set()
        with write_transaction(self._engine) as conn:
            inserted = _insert_new(conn, rows)
            jobs: list[tuple[JobRequest, str | None]] = [
                (job, guid)
                for guid, i in first.items()
                if guid in inserted and (job := batch[i].job) is not None
            ]
            run_ids = enqueue_jobs(conn, jobs, now, created)
        creators: dict[int, str] = {}  # a new run's delivery: the first one with its key
        for (_, guid), run_id in zip(jobs, run_ids, strict=True):
            if run_id in created and guid is not None:
                creators.setdefault(run_id, guid)
        new = [first[d.guid] == i and d.guid in inserted for i, d in enumerate(batch)]
        return StoredBatch(new, frozenset(creators.values()))

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


_JSON = msgspec.json.Encoder()  # a delivery's summary as JSON text, 10x json.dumps's speed
_COLUMNS = ("guid", "event", "action", "installation_id", "repository", "outcome", "summary", "received_at")
_ROW = f"({', '.join('?' for _ in _COLUMNS)})"


def _sqlite_insert(rows: int) -> str:
    """One ``INSERT OR IGNORE`` of ``rows`` rows that returns the GUIDs it inserted (SQLite ≥ 3.35)."""
    return (f"INSERT OR IGNORE INTO deliveries ({', '.join(_COLUMNS)}) VALUES {', '.join([_ROW] * rows)} "
            "RETURNING guid")


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose GUID is not stored yet; returns the GUIDs inserted.

    PostgreSQL: ``INSERT ... ON CONFLICT DO NOTHING RETURNING guid`` (replicas may race).
    SQLite: the same in one statement of pre-bound values (``INSERT OR IGNORE ... RETURNING``, a row per
    delivery) — this is the hot path of webhook intake and SQLAlchemy's per-row processing would dominate
    it; the transaction holds the write lock (BEGIN IMMEDIATE).
    """
    if is_postgres(conn):
        stmt = upsert_insert(conn, deliveries).on_conflict_do_nothing(index_elements=["guid"])
        return set(conn.execute(stmt.returning(deliveries.c.guid), rows).scalars())
    bind_time = deliveries.c.received_at.type.bind_processor(conn.dialect)
    # the one time of the batch, as text once (sqlite3's default adapter, which SQLAlchemy's binds use here,
    # writes ``isoformat(" ")``: the same text, formatted once rather than once a row)
    received = bind_time(rows[0]["received_at"]) if bind_time else rows[0]["received_at"].isoformat(" ")
    values: list[Any] = []
    for row in rows:
        values += (*(row[name] for name in _COLUMNS[:6]), _JSON.encode(row["summary"]).decode(), received)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:  # the driver's cursor in the caller's transaction: no SQLAlchemy execution per commit
        return {guid for (guid,) in cursor.execute(_sqlite_insert(len(rows)), values).fetchall()}
    finally:
        cursor.close()
