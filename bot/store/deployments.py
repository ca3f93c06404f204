"""DeploymentStore: deployments as recorded state, one row per (repository, model, target).

A promotion, a rollback and an operator's ``modelgate deployments stop|start`` write what should serve
(``version``, ``state``); the reconcile loop (``bot/deployments``) reads it, makes the servers match and
writes back what answered (``health``). A deployment is kept by one replica at a time: ``holder`` holds a
lease (``lease_until``) that it renews on every pass, that a run deploying the model takes over, and that
another replica may take once it has run out (its holder died).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, or_, select, update

from bot.store.engine import write_transaction
from bot.store.models import deployments
from bot.store.queue import upsert_insert
from bot.store.types import utc, utc_now


class DeploymentState(StrEnum):
    """What the record wants."""

    SERVING = "serving"  # the version should answer
    STOPPED = "stopped"  # an operator stopped it: nothing should answer until started again
    RETIRED = "retired"  # the model moved to another target: nothing should answer here


class Health(StrEnum):
    """What the last check saw."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"  # not checked yet, or a target nothing checks (``command``)


DeploymentKey = tuple[str, str, str]  # (repository, model, target)


@dataclass(frozen=True)
class Lease:
    """A replica's hold on deployments: ``holder`` names the replica, ``seconds`` how long a hold lasts
    unless renewed."""

    holder: str
    seconds: float


@dataclass(frozen=True)
class Desired:
    """What a promotion or rollback deployed: ``spec`` is the deploy section it used."""

    repository: str
    model_name: str
    target: str
    version: int
    url: str | None
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> DeploymentKey:
        return (self.repository, self.model_name, self.target)


@dataclass(frozen=True)
class DeploymentRecord:
    """One recorded deployment."""

    repository: str
    model_name: str
    target: str
    version: int | None
    url: str | None
    spec: dict[str, Any]
    state: DeploymentState
    health: Health
    health_detail: str | None
    checked_at: datetime | None
    since: datetime
    restarts: int
    holder: str | None
    lease_until: datetime | None

    @property
    def key(self) -> DeploymentKey:
        return (self.repository, self.model_name, self.target)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times in ISO 8601)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in ("checked_at", "since", "lease_until"):
            data[name] = data[name].isoformat() if data[name] is not None else None
        data["state"], data["health"] = self.state.value, self.health.value
        return data


class DeploymentStore:
    """Records and leases deployments; safe across threads, processes and replicas."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def record(self, desired: Desired, lease: Lease | None = None, conn: Connection | None = None) -> None:
        """Make ``desired`` the model's deployment at its target (serving, checked just now; kept by
        ``lease``'s holder when given) and retire its deployments at other targets; in ``conn``'s
        transaction when given (a promotion's)."""
        if conn is None:
            with write_transaction(self._engine) as own:
                self.record(desired, lease, own)
            return
        now = utc(self._clock())
        values: dict[str, Any] = {"version": desired.version, "url": desired.url, "spec": desired.spec,
                                  "state": DeploymentState.SERVING.value, "health": Health.UP.value,
                                  "health_detail": None, "checked_at": now, "since": now}
        if lease is not None:
            values.update(holder=lease.holder, lease_until=now + timedelta(seconds=lease.seconds))
        insert = upsert_insert(conn, deployments).values(
            repository=desired.repository, model_name=desired.model_name, target=desired.target, restarts=0,
            **{"holder": None, "lease_until": None, **values})
        conn.execute(insert.on_conflict_do_update(index_elements=["repository", "model_name", "target"],
                                                  set_=values))
        conn.execute(update(deployments).where(
            deployments.c.repository == desired.repository, deployments.c.model_name == desired.model_name,
            deployments.c.target != desired.target, deployments.c.state != DeploymentState.RETIRED.value,
        ).values(state=DeploymentState.RETIRED.value, since=now))

    def all(self) -> list[DeploymentRecord]:
        """Every recorded deployment, by repository, model and target."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(deployments).order_by(
                deployments.c.repository, deployments.c.model_name, deployments.c.target))
            return [_record(row) for row in rows]

    def gauges(self) -> list[tuple[str, str, str, bool, int]]:
        """(repository, model, target, answers, restarts) of every deployment not retired (for /metrics):
        answers when it should serve and the last check saw it up."""
        return [(r.repository, r.model_name, r.target,
                 r.state == DeploymentState.SERVING and r.health == Health.UP, r.restarts)
                for r in self.all() if r.state != DeploymentState.RETIRED]

    def get(self, key: DeploymentKey) -> DeploymentRecord | None:
        """One deployment, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(deployments).where(*_where(key))).first()
        return None if row is None else _record(row)

    def set_state(self, model_name: str, state: DeploymentState, repository: str | None = None) -> list[
            DeploymentRecord]:
        """Stop or start the model's deployments that are not retired (of ``repository`` when given); the
        ones changed."""
        now = utc(self._clock())
        wanted = [deployments.c.model_name == model_name,
                  deployments.c.state != DeploymentState.RETIRED.value, deployments.c.state != state.value]
        if repository is not None:
            wanted.append(deployments.c.repository == repository.lower())
        with write_transaction(self._engine) as conn:
            rows = conn.execute(update(deployments).where(*wanted).values(state=state.value, since=now)
                                .returning(*deployments.c)).all()
        return [_record(row) for row in rows]

    def take(self, key: DeploymentKey, lease: Lease, *, force: bool = False) -> bool:
        """Hold ``key`` for ``lease.seconds`` more: when nobody holds it, ``lease.holder`` does already, or
        the lease ran out (``force``: whoever holds it; a run deploying the model). Whether it holds it."""
        now = utc(self._clock())
        free = or_(deployments.c.holder.is_(None), deployments.c.holder == lease.holder,
                   deployments.c.lease_until.is_(None), deployments.c.lease_until < now)
        stmt = update(deployments).where(*_where(key), *([] if force else [free])).values(
            holder=lease.holder, lease_until=now + timedelta(seconds=lease.seconds))
        with write_transaction(self._engine) as conn:
            return bool(conn.execute(stmt).rowcount)

    def observe(self, key: DeploymentKey, holder: str, health: Health, detail: str | None,
                *, restarted: bool = False) -> None:
        """Write what ``holder``'s check saw (only while it holds ``key``); ``restarted``: it had to start
        the server again."""
        values: dict[str, Any] = {"health": health.value, "health_detail": detail,
                                  "checked_at": utc(self._clock())}
        if restarted:
            values["restarts"] = deployments.c.restarts + 1
        with write_transaction(self._engine) as conn:
            conn.execute(update(deployments).where(*_where(key), deployments.c.holder == holder)
                         .values(**values))

    def release(self, holder: str) -> None:
        """Give up every lease of ``holder`` (a replica shutting down cleanly: another may take over)."""
        with write_transaction(self._engine) as conn:
            conn.execute(update(deployments).where(deployments.c.holder == holder)
                         .values(lease_until=None))


def _where(key: DeploymentKey) -> list[Any]:
    repository, model_name, target = key
    return [and_(deployments.c.repository == repository, deployments.c.model_name == model_name,
                 deployments.c.target == target)]


def _record(row: Row[Any]) -> DeploymentRecord:
    data = dict(row._mapping)
    for name in ("checked_at", "since", "lease_until"):
        data[name] = utc(data[name])
    data["state"], data["health"] = DeploymentState(data["state"]), Health(data["health"])
    return DeploymentRecord(**data)
