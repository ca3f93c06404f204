"""Shared inside the store: turning rows into records, and enqueueing jobs with coalescing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

from bot.store.engine import is_postgres
from bot.store.jobs import StagingJob, dump_job, load_job
from bot.store.models import runs
from bot.store.types import JobRequest, RunRecord, RunState, stored_key, utc

_RUN_DATETIMES = ("heartbeat_at", "created_at", "started_at", "finished_at")
# Second advisory-lock namespace: serializes enqueues per repository on PostgreSQL.
_ENQUEUE_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(28008, h)) FROM "
    "(SELECT DISTINCT hashtext(r) AS h FROM unnest(CAST(:repos AS text[])) AS r ORDER BY h) AS s"
)


# Built once (SQLAlchemy then reuses their compiled form): the queued runs of some repositories.
_QUEUED_IN = (
    select(runs.c.id, runs.c.kind, runs.c.repository, runs.c.pr_number, runs.c.head_sha, runs.c.details)
    .where(runs.c.state == RunState.QUEUED.value, runs.c.repository.in_(bindparam("repos", expanding=True)))
    .order_by(runs.c.id)
)
_QUEUED_IN_FOR_UPDATE = _QUEUED_IN.with_for_update()


def run_record(row: Row[Any]) -> RunRecord:
    """A RunRecord from a row holding every column of ``runs``."""
    data = dict(row._mapping)
    for name in _RUN_DATETIMES:
        data[name] = utc(data[name])
    data["state"] = RunState(data["state"])
    data["github_refs"] = data["github_refs"] or {}
    data["job"] = load_job(data["kind"], data.pop("details"))
    return RunRecord(**data)


def upsert_insert(conn: Connection, table: Table) -> PgInsert | SqliteInsert:
    """The dialect's INSERT, which offers ``on_conflict_do_nothing``."""
    return (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)


def enqueue_jobs(
    conn: Connection, items: Sequence[tuple[JobRequest, str | None]], now: datetime,
    created: set[int] | None = None,
) -> list[int]:
    """Queue one run per distinct job key, reusing a queued run with the same key (``JobRequest.key``:
    kind, repository, pr_number, head_sha; a scheduled run's requester) — a newer staging request's context
    is folded into it (``StagingJob.joined``: an approval, ``--force``); returns the run id for each item,
    and adds the ids of the runs it inserted (not reused) to ``created`` if given.

    Runs in the caller's transaction. On PostgreSQL an advisory lock per repository keeps
    two replicas from both inserting the same key, and FOR UPDATE keeps the reused run
    from being claimed before we commit (SQLite writers are serialized by BEGIN IMMEDIATE).
    """
    if not items:
        return []
    repositories = sorted({job.repository for job, _ in items})
    existing = _QUEUED_IN
    if is_postgres(conn):
        conn.execute(_ENQUEUE_LOCK, {"repos": repositories})
        existing = _QUEUED_IN_FOR_UPDATE
    found: dict[tuple[Any, ...], int] = {}
    stored: dict[int, dict[str, Any] | None] = {}  # read as a job only when a request joins it
    queued = (conn.execute(existing, {"repos": repositories}).tuples() if is_postgres(conn)
              else _queued_on_sqlite(conn, repositories))
    for run_id, kind, repository, pr_number, head_sha, details in queued:
        found.setdefault(stored_key(kind, repository, pr_number, head_sha, details), run_id)
        stored[run_id] = details
    fresh: dict[tuple[Any, ...], tuple[JobRequest, str | None]] = {}
    joined: dict[int, StagingJob] = {}
    before: dict[int, StagingJob] = {}  # the joined runs' jobs as stored
    for request, guid in items:
        key = request.key
        if key in fresh:
            first, first_guid = fresh[key]
            fresh[key] = (_joined(first, request), first_guid)
        elif key in found and isinstance(request.job, StagingJob):
            run_id = found[key]  # a later request's context joins the queued run
            if run_id not in joined:
                joined[run_id] = before[run_id] = StagingJob.model_validate(stored[run_id] or {})
            joined[run_id] = joined[run_id].joined(request.job)
        elif key not in found:
            fresh[key] = (request, guid)
    for run_id, job in sorted(joined.items()):
        if job != before[run_id]:  # the same context again (a PR's repeated events) changes nothing
            conn.execute(update(runs).where(runs.c.id == run_id).values(details=dump_job(job)))
    if fresh:
        stmt = insert(runs).returning(runs.c.id, sort_by_parameter_order=True)
        rows = [_new_run(request, guid, now) for request, guid in fresh.values()]
        ids = conn.execute(stmt, rows).scalars().all()
        found.update(zip(fresh, ids, strict=True))
        if created is not None:
            created.update(ids)
    return [found[request.key] for request, _ in items]


def _queued_on_sqlite(conn: Connection, repositories: list[str]) -> list[tuple[Any, ...]]:
    """``_QUEUED_IN`` on SQLite, through the driver's cursor in the caller's transaction: the webhook intake
    runs it once per commit, and SQLAlchemy's execution of it cost more than the query (bench/README.md)."""
    marks = ", ".join("?" * len(repositories))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        rows = cursor.execute(
            "SELECT id, kind, repository, pr_number, head_sha, details FROM runs "
            f"WHERE state = ? AND repository IN ({marks}) ORDER BY id",
            (RunState.QUEUED.value, *repositories),
        ).fetchall()
    finally:
        cursor.close()
    return [(*row[:5], None if row[5] is None else json.loads(row[5])) for row in rows]


def _joined(first: JobRequest, later: JobRequest) -> JobRequest:
    """Two requests with one key in one batch: the later one's context folded into the first."""
    if isinstance(first.job, StagingJob) and isinstance(later.job, StagingJob):
        return replace(first, job=first.job.joined(later.job))
    return first


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
        "details": dump_job(job.job),
    }
