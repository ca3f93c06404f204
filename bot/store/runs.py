"""RunStore: the durable run queue and its state machine.

Every state change is one ``UPDATE ... WHERE id = :id AND state IN (:allowed)`` whose
RETURNING row (or its absence) tells whether it happened: no read-then-write races.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy import update as sql_update

from bot.store.engine import is_postgres, write_transaction
from bot.store.models import runs
from bot.store.queue import enqueue_jobs, run_record
from bot.store.types import (
    TERMINAL,
    Acknowledgement,
    InvalidTransition,
    JobRequest,
    RunNotFound,
    RunRecord,
    RunState,
    sources,
    utc,
    utc_now,
)

QUEUED, RUNNING = RunState.QUEUED.value, RunState.RUNNING.value
# Kinds that deploy, and those that change an account's schedules (their repository is ``account/*``): at
# most one of them runs per repository at a time, in id order.
SERIAL_KINDS = ("production", "rollback", "scheduled", "install", "uninstall")


class RunStore:
    """Enqueue, claim, heartbeat and finish runs; safe across threads, processes, replicas."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def _now(self) -> datetime:
        return utc(self._clock())

    # --- queueing ---------------------------------------------------------------------

    def enqueue(self, job: JobRequest, delivery_guid: str | None = None) -> RunRecord:
        """Queue a run for ``job``, or return the queued run that already has its key."""
        with write_transaction(self._engine) as conn:
            (run_id,) = enqueue_jobs(conn, [(job, delivery_guid)], self._now())
            return self._fetch(conn, run_id)

    def claim(self, worker_id: str, kinds: Iterable[str] | None = None) -> RunRecord | None:
        """Atomically take the oldest claimable queued run (of ``kinds``) and mark it running.

        One statement: ``UPDATE ... WHERE id = (SELECT id ... ORDER BY id LIMIT 1 FOR UPDATE
        SKIP LOCKED)``; SQLite has no FOR UPDATE but runs it inside BEGIN IMMEDIATE.

        Runs of a ``SERIAL_KINDS`` kind are serialized per repository: one is claimable only
        while no other serial run of its repository is running or queued with a smaller id
        (so they also start in id order). Other kinds are never held back.

        Race-free across replicas without a lock of its own: SQLite writers are serialized.
        On PostgreSQL each claim checks a snapshot, and two claimers could only both start a
        serial run of one repository if neither saw the other's run as blocking. But enqueues
        of one repository are serialized until commit (``enqueue_jobs``' advisory lock), so
        its ids become visible in id order: whoever sees the younger of two runs also sees
        the older one. And a serial run is queued or running (recovery re-queues it) from its
        insert until it finishes, so in every snapshot that sees it, it blocks the younger
        run. The claimer of the younger run therefore finds nothing; the older run itself is
        skipped while locked by its claimer, and no longer queued once that one committed.
        """
        now = self._now()
        cand, other = runs.alias("cand"), runs.alias("other")
        blocker = (
            select(other.c.id)
            .where(
                other.c.repository == cand.c.repository,
                other.c.kind.in_(SERIAL_KINDS),
                other.c.state.in_([QUEUED, RUNNING]),
                other.c.id != cand.c.id,
                or_(other.c.state == RUNNING, other.c.id < cand.c.id),
            )
            .correlate_except(other)
        )
        oldest = select(cand.c.id).where(
            cand.c.state == QUEUED,
            or_(cand.c.kind.not_in(SERIAL_KINDS), ~exists(blocker)),
        )
        if kinds is not None:
            oldest = oldest.where(cand.c.kind.in_(list(kinds)))
        oldest = oldest.order_by(cand.c.id).limit(1).with_for_update(skip_locked=True)
        stmt = (
            sql_update(runs)
            .where(runs.c.id == oldest.scalar_subquery(), runs.c.state == QUEUED)
            .values(
                state=RUNNING,
                attempts=runs.c.attempts + 1,
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
                # a run claimed before its intake acknowledgement never gets one (bot.store.acknowledgements)
                acknowledgement=func.coalesce(runs.c.acknowledgement, Acknowledgement.SKIPPED.value),
            )
            .returning(*runs.c)
        )
        with write_transaction(self._engine) as conn:
            row = conn.execute(stmt).first()
        return run_record(row) if row is not None else None

    def heartbeat(self, run_id: int, worker_id: str) -> bool:
        """Extend the lease; False when the run is no longer running for ``worker_id``."""
        stmt = (
            sql_update(runs)
            .where(runs.c.id == run_id, runs.c.worker_id == worker_id, runs.c.state == RUNNING)
            .values(heartbeat_at=self._now())
        )
        with write_transaction(self._engine) as conn:
            return conn.execute(stmt).rowcount == 1

    # --- transitions ------------------------------------------------------------------

    def finish(
        self,
        run_id: int,
        state: RunState | str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> RunRecord:
        """Move a running run to the terminal ``state``; InvalidTransition otherwise."""
        target = RunState(state)
        allowed = {RunState.RUNNING} if target in TERMINAL else set()
        values = {"finished_at": self._now(), "result": result, "error": error}
        with write_transaction(self._engine) as conn:
            return self._move(conn, run_id, target, allowed, values)

    def requeue(self, run_id: int, reason: str) -> RunRecord:
        """Put a running run back in the queue (its job vanished; ``reason`` stays as its error until
        it ends); its next claim counts one attempt more. InvalidTransition if it is not running."""
        values = {"worker_id": None, "heartbeat_at": None, "error": reason}
        with write_transaction(self._engine) as conn:
            return self._move(conn, run_id, RunState.QUEUED, {RunState.RUNNING}, values)

    def cancel_queued(
        self,
        repository: str,
        pr_number: int | None,
        *,
        kind: str | None = None,
        reason: str | None = None,
    ) -> list[RunRecord]:
        """Cancel the queued runs of one PR (``pr_number=None``: runs without a PR)."""
        where = [runs.c.repository == repository, runs.c.pr_number.is_not_distinct_from(pr_number)]
        if kind is not None:
            where.append(runs.c.kind == kind)
        values = {"finished_at": self._now(), "error": reason}
        with write_transaction(self._engine) as conn:
            return self._move_all(conn, and_(*where), RunState.CANCELLED, values)

    def supersede(
        self, kind: str, repository: str, pr_number: int | None, keep_head_sha: str | None,
        except_run: int | None = None,
    ) -> tuple[list[RunRecord], list[RunRecord]]:
        """Supersede the queued runs of a PR whose head SHA is not ``keep_head_sha``.

        Returns (the runs now superseded, the running runs at another SHA). The running
        ones get ``cancel_requested`` set: their workers stop them and finish them as
        superseded (see ``cancel_reason``), whichever process they run in.
        """
        other = and_(
            runs.c.kind == kind,
            runs.c.repository == repository,
            runs.c.pr_number.is_not_distinct_from(pr_number),
            runs.c.head_sha.is_distinct_from(keep_head_sha),
            runs.c.id != (except_run if except_run is not None else -1),
        )
        reason = f"superseded by {keep_head_sha[:7]}" if keep_head_sha else "superseded"
        values = {"finished_at": self._now(), "error": reason}
        with write_transaction(self._engine) as conn:
            superseded = self._move_all(conn, other, RunState.SUPERSEDED, values)
            running = (
                sql_update(runs)
                .where(other, runs.c.state == RUNNING)
                .values(cancel_requested=reason)
                .returning(*runs.c)
            )
            stopping = sorted((run_record(row) for row in conn.execute(running)), key=lambda r: r.id)
            return superseded, stopping

    def request_cancel(self, run_id: int, reason: str) -> bool:
        """Ask the worker of a running run to stop it; False if it is not running."""
        stmt = (
            sql_update(runs)
            .where(runs.c.id == run_id, runs.c.state == RUNNING)
            .values(cancel_requested=reason)
        )
        with write_transaction(self._engine) as conn:
            return conn.execute(stmt).rowcount == 1

    def cancel_reason(self, run_id: int) -> str | None:
        """Why the run must stop, if someone asked (None: carry on)."""
        with self._engine.connect() as conn:
            return conn.execute(select(runs.c.cancel_requested).where(runs.c.id == run_id)).scalar()

    def recover_stale(
        self, lease_seconds: float, max_attempts: int, now: datetime | None = None
    ) -> list[RunRecord]:
        """Runs whose heartbeat is older than the lease (their worker died) go back to
        queued, or to failed once they used ``max_attempts``; returns the changed runs."""
        current = utc(now) if now is not None else self._now()
        stale = and_(
            runs.c.heartbeat_at < current - timedelta(seconds=lease_seconds),
            runs.c.state == RUNNING,
        )
        message = (
            literal("worker stopped responding after ", String)
            + cast(runs.c.attempts, String)
            + literal(" attempts", String)
        )
        with write_transaction(self._engine) as conn:
            requeued = self._move_all(
                conn,
                and_(stale, runs.c.attempts < max_attempts),
                RunState.QUEUED,
                {"worker_id": None, "heartbeat_at": None},
                allowed=RunState.RUNNING,
            )
            failed = self._move_all(
                conn,
                and_(stale, runs.c.attempts >= max_attempts),
                RunState.FAILED,
                {"finished_at": current, "error": message},
                allowed=RunState.RUNNING,
            )
        return sorted(requeued + failed, key=lambda run: run.id)

    # --- GitHub bookkeeping -----------------------------------------------------------

    def remember(self, run_id: int, key: str, value: Any) -> RunRecord:
        """Merge ``{key: value}`` into the run's ``github_refs`` (row-locked read-modify-write)."""
        return self.remember_all(run_id, {key: value})

    def remember_all(self, run_id: int, values: Mapping[str, Any]) -> RunRecord:
        """Merge ``values`` into the run's ``github_refs`` in one write (row-locked read-modify-write)."""
        query = select(runs.c.github_refs).where(runs.c.id == run_id)
        with write_transaction(self._engine) as conn:
            if is_postgres(conn):
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                raise RunNotFound(run_id)
            refs = {**(row.github_refs or {}), **values}
            stmt = sql_update(runs).where(runs.c.id == run_id).values(github_refs=refs)
            return run_record(conn.execute(stmt.returning(*runs.c)).one())

    # --- reading ----------------------------------------------------------------------

    def get(self, run_id: int) -> RunRecord | None:
        """The run with this id, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return run_record(row) if row is not None else None

    def list_runs(
        self,
        repository: str | None = None,
        pr_number: int | None = None,
        state: RunState | str | None = None,
        limit: int = 100,
        *,
        kind: str | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first."""
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        filters = {"repository": repository, "pr_number": pr_number, "kind": kind}
        for column, value in filters.items():
            if value is not None:
                query = query.where(runs.c[column] == value)
        if state is not None:
            query = query.where(runs.c.state == RunState(state).value)
        with self._engine.connect() as conn:
            return [run_record(row) for row in conn.execute(query)]

    def pr_of_commit(self, kind: str, repository: str, sha: str) -> int | None:
        """The PR of the newest ``kind`` run on commit ``sha`` that knew its PR (GitHub leaves fork
        PRs out of check-run payloads, so a button press on one arrives without it)."""
        query = (
            select(runs.c.pr_number)
            .where(runs.c.kind == kind, runs.c.repository == repository, runs.c.head_sha == sha,
                   runs.c.pr_number.is_not(None))
            .order_by(runs.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            return conn.execute(query).scalar()

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of runs per (kind, state), for the ``modelgate_runs`` gauge."""
        query = select(runs.c.kind, runs.c.state, func.count()).group_by(runs.c.kind, runs.c.state)
        with self._engine.connect() as conn:
            return {(kind, state): count for kind, state, count in conn.execute(query)}

    # --- helpers ----------------------------------------------------------------------

    def _fetch(self, conn: Connection, run_id: int) -> RunRecord:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise RunNotFound(run_id)
        return run_record(row)

    def _move(
        self,
        conn: Connection,
        run_id: int,
        target: RunState,
        allowed: Iterable[RunState],
        values: dict[str, Any],
    ) -> RunRecord:
        """Move one run to ``target`` if it is in an allowed state; else raise."""
        froms = [s.value for s in sources(target) & set(allowed)]
        stmt = (
            sql_update(runs)
            .where(runs.c.id == run_id, runs.c.state.in_(froms))
            .values(state=target.value, **values)
            .returning(*runs.c)
        )
        row = conn.execute(stmt).first()
        if row is not None:
            return run_record(row)
        current = conn.execute(select(runs.c.state).where(runs.c.id == run_id)).scalar()
        if current is None:
            raise RunNotFound(run_id)
        raise InvalidTransition(run_id, current, target.value)

    def _move_all(
        self,
        conn: Connection,
        where: ColumnElement[bool],
        target: RunState,
        values: dict[str, Any],
        allowed: RunState = RunState.QUEUED,
    ) -> list[RunRecord]:
        """Move every run matching ``where`` and in state ``allowed`` to ``target``."""
        assert allowed in sources(target), f"{allowed} -> {target} is not a transition"
        stmt = (
            sql_update(runs)
            .where(where, runs.c.state == allowed.value)
            .values(state=target.value, **values)
            .returning(*runs.c)
        )
        return sorted((run_record(row) for row in conn.execute(stmt)), key=lambda run: run.id)
