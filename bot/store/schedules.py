"""ScheduleStore: each repository's schedules (from its default branch's configuration) with the next time
they fire, and one row per fire.

A fire is claimed once across threads, processes and replicas: moving ``next_fire_at`` on is a
compare-and-swap on the slot every replica saw, and the fire row is unique per (repository, schedule,
fire time); the run is queued in the same transaction, so a fire is either fully claimed or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, delete, select
from sqlalchemy import update as sql_update

from bot.store.engine import write_transaction
from bot.store.models import schedule_fires, schedules
from bot.store.queue import enqueue_jobs, upsert_insert
from bot.store.types import JobRequest, utc, utc_now


@dataclass(frozen=True)
class Wanted:
    """A schedule the configuration asks for, and when it first fires if it is new."""

    key: str
    cron: str
    pipeline: str
    first_fire_at: datetime


@dataclass(frozen=True)
class ScheduleRecord:
    """A stored schedule."""

    repository: str
    key: str
    cron: str
    pipeline: str
    installation_id: int | None
    next_fire_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FireRecord:
    """A claimed fire and the run it queued."""

    id: int
    repository: str
    key: str
    fire_at: datetime
    run_id: int | None
    created_at: datetime


class ScheduleStore:
    """Keeps schedules in step with configurations and claims their fires."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def replace(self, repository: str, installation_id: int | None, wanted: Sequence[Wanted]) -> None:
        """Make ``repository``'s schedules exactly ``wanted``: new ones fire first at their
        ``first_fire_at``, kept ones keep their next fire time, the others are dropped."""
        now = utc(self._clock())
        keys = [w.key for w in wanted]
        with write_transaction(self._engine) as conn:
            conn.execute(delete(schedules).where(schedules.c.repository == repository,
                                                 schedules.c.key.not_in(keys)))
            if not wanted:
                return
            rows = [{"repository": repository, "key": w.key, "cron": w.cron, "pipeline": w.pipeline,
                     "installation_id": installation_id, "next_fire_at": utc(w.first_fire_at),
                     "updated_at": now} for w in wanted]
            conn.execute(upsert_insert(conn, schedules).on_conflict_do_nothing(
                index_elements=["repository", "key"]), rows)
            conn.execute(sql_update(schedules).where(schedules.c.repository == repository)
                         .values(installation_id=installation_id, updated_at=now))

    def drop(self, *, repositories: Iterable[str] | None = None, installation_id: int | None = None) -> int:
        """Drop the schedules of ``repositories``, or of every repository of ``installation_id``; how many."""
        where: ColumnElement[bool]
        if repositories is not None:
            where = schedules.c.repository.in_(list(repositories))
        elif installation_id is not None:
            where = schedules.c.installation_id == installation_id
        else:
            raise ValueError("name the repositories or the installation")
        with write_transaction(self._engine) as conn:
            return int(conn.execute(delete(schedules).where(where)).rowcount)

    def due(self, now: datetime) -> list[ScheduleRecord]:
        """The schedules whose next fire time has come, soonest first."""
        query = (select(schedules).where(schedules.c.next_fire_at <= utc(now))
                 .order_by(schedules.c.next_fire_at, schedules.c.repository, schedules.c.key))
        with self._engine.connect() as conn:
            return [_schedule(row) for row in conn.execute(query)]

    def of(self, repository: str) -> list[ScheduleRecord]:
        """``repository``'s schedules, the next to fire first."""
        query = (select(schedules).where(schedules.c.repository == repository)
                 .order_by(schedules.c.next_fire_at, schedules.c.key))
        with self._engine.connect() as conn:
            return [_schedule(row) for row in conn.execute(query)]

    def fire(
        self, schedule: ScheduleRecord, next_fire_at: datetime, request: JobRequest
    ) -> FireRecord | None:
        """Claim the fire of ``schedule`` at its ``next_fire_at``: move it on to ``next_fire_at`` and queue
        ``request``, in one transaction. None when another replica claimed it first (or the schedule
        changed)."""
        now = utc(self._clock())
        slot = utc(schedule.next_fire_at)
        moved = (sql_update(schedules)
                 .where(schedules.c.repository == schedule.repository, schedules.c.key == schedule.key,
                        schedules.c.next_fire_at == slot)
                 .values(next_fire_at=utc(next_fire_at)))
        row = {"repository": schedule.repository, "key": schedule.key, "fire_at": slot, "run_id": None,
               "created_at": now}
        with write_transaction(self._engine) as conn:
            if conn.execute(moved).rowcount != 1:
                return None
            claim = upsert_insert(conn, schedule_fires).values(row).on_conflict_do_nothing(
                index_elements=["repository", "key", "fire_at"])
            fire_id = conn.execute(claim.returning(schedule_fires.c.id)).scalar()
            if fire_id is None:
                return None
            (run_id,) = enqueue_jobs(conn, [(request, None)], now)
            conn.execute(sql_update(schedule_fires).where(schedule_fires.c.id == fire_id)
                         .values(run_id=run_id))
        return FireRecord(int(fire_id), schedule.repository, schedule.key, slot, run_id, now)

    def fires(self, repository: str) -> list[FireRecord]:
        """``repository``'s fires, oldest first."""
        query = (select(schedule_fires).where(schedule_fires.c.repository == repository)
                 .order_by(schedule_fires.c.id))
        with self._engine.connect() as conn:
            return [_fire(row) for row in conn.execute(query)]


def _schedule(row: Row[Any]) -> ScheduleRecord:
    data = dict(row._mapping)
    data["next_fire_at"], data["updated_at"] = utc(data["next_fire_at"]), utc(data["updated_at"])
    return ScheduleRecord(**data)


def _fire(row: Row[Any]) -> FireRecord:
    data = dict(row._mapping)
    data["fire_at"], data["created_at"] = utc(data["fire_at"]), utc(data["created_at"])
    return FireRecord(**data)



