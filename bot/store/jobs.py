"""Shared inside the store: turning rows into records, and enqueueing jobs with coalescing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

from bot.store.engine import is_postgres
from bot.store.models import runs
from bot.store.types import JobRequest, RunRecord, RunState, utc

_RUN_DATETIMES = ("heartbeat_at", "created_at", "started_at", "finished_at")
# Second advisory-lock namespace: serializes enqueues per repository on PostgreSQL.
_ENQUEUE_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(28008, h)) FROM "
    "(SELECT DISTINCT hashtext(r) AS h FROM unnest(CAST(:repos AS text[])) AS r ORDER BY h) AS s"
)


def run_record(row: Row[Any]) -> RunRecord:
    """A RunRecord from a row holding every column of ``runs``."""
    data = dict(row._mapping)
    for name in _RUN_DATETIMES:
        data[name] = utc(data[name])
    data["state"] = RunState(data["state"])
    data["github_refs"] = data["github_refs"] or {}
    data["details"] = data["details"] or {}
    return RunRecord(**data)


def upsert_insert(conn: Connection, table: Table) -> PgInsert | SqliteInsert:
    """The dialect's INSERT, which offers ``on_conflict_do_nothing``."""
    return (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)


def enqueue_jobs(
    conn: Connection, items: Sequence[tuple[JobRequest, str | None]], now: datetime
) -> list[int]:
    """Queue one run per distinct job key, reusing a queued run with the same
    (kind, repository, pr_number, head_sha) — the newer request's ``details`` are merged into
    it; returns the run id for each item.

    Runs in the caller's transaction. On PostgreSQL an advisory lock per repository keeps
    two replicas from both inserting the same key, and FOR UPDATE keeps the reused run
    from being claimed before we commit (SQLite writers are serialized by BEGIN IMMEDIATE).
    """
    if not items:
        return []
    repositories = sorted({job.repository for job, _ in items})
    existing = (
        select(runs.c.id, runs.c.kind, runs.c.repository, runs.c.pr_number, runs.c.head_sha, runs.c.details)
        .where(runs.c.state == RunState.QUEUED.value, runs.c.repository.in_(repositories))
        .order_by(runs.c.id)
    )
    if is_postgres(conn):
        conn.execute(_ENQUEUE_LOCK, {"repos": repositories})
        existing = existing.with_for_update()
    found: dict[tuple[Any, ...], int] = {}
    queued_details: dict[int, dict[str, Any]] = {}
    for row in conn.execute(existing):
        found.setdefault((row.kind, row.repository, row.pr_number, row.head_sha), row.id)
        queued_details[row.id] = dict(row.details or {})
    fresh: dict[tuple[Any, ...], dict[str, Any]] = {}
    joined: dict[int, dict[str, Any]] = {}
    for job, guid in items:
        if job.key in found:
            if job.details:  # a later request's context joins the queued run (e.g. an approval, --force)
                run_id = found[job.key]
                joined[run_id] = {**joined.get(run_id, queued_details[run_id]), **job.details}
        elif job.key in fresh:
            fresh[job.key]["details"].update(job.details)
        else:
            fresh[job.key] = _new_run(job, guid, now)
    for run_id, details in joined.items():
        conn.execute(update(runs).where(runs.c.id == run_id).values(details=details))
    if fresh:
        stmt = insert(runs).returning(runs.c.id, sort_by_parameter_order=True)
        ids = conn.execute(stmt, list(fresh.values())).scalars().all()
        found.update(zip(fresh, ids, strict=True))
    return [found[job.key] for job, _ in items]


def _new_run(job: JobRequest, delivery_guid: str | None, now: datetime) -> dict[str, Any]:
    return {
        "kind": job.kind,
        "repository": job.repository,
        "installation_id": job.installation_id,
        "pr_number": job.pr_number,
        "head_sha": job.head_sha,
        "trigger": job.trigger,
        "delivery_guid": delivery_guid,
        "state": RunState.QUEUED.value,
        "attempts": 0,
        "created_at": now,
        "github_refs": {},
        "details": dict(job.details),
    }
