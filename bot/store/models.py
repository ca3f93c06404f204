"""ORM table definitions (the schema). Stores query them with Core statements.

Keep ``bot/store/migrations/versions`` in step: a test checks that after ``migrate`` Alembic's
autogenerate finds no difference between these models and the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON(none_as_null=True)


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Delivery(Base):
    """One webhook delivery, keyed by ``X-GitHub-Delivery``."""

    __tablename__ = "deliveries"

    guid: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    repository: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any]] = mapped_column(Json)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    """One staging or production run."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_state_id", "state", "id"),
        Index("ix_runs_repository_pr_number_kind", "repository", "pr_number", "kind"),
        # the live (queued/running) runs of a repository: RunStore.claim's serial-kind check
        Index("ix_runs_repository_state_kind", "repository", "state", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    repository: Mapped[str] = mapped_column(String(255))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    pr_number: Mapped[int | None] = mapped_column(Integer)
    head_sha: Mapped[str | None] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(64))
    delivery_guid: Mapped[str | None] = mapped_column(ForeignKey("deliveries.guid"))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json)
    github_refs: Mapped[dict[str, Any]] = mapped_column(Json)
    details: Mapped[dict[str, Any]] = mapped_column(Json)
    cancel_requested: Mapped[str | None] = mapped_column(Text)  # why the worker must stop it
    acknowledgement: Mapped[str | None] = mapped_column(String(16))  # see Acknowledgement


class Promotion(Base):
    """A model promoted (or being promoted) from a merge commit; one per model and commit."""

    __tablename__ = "promotions"
    __table_args__ = (UniqueConstraint("model_name", "merge_sha"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(255))
    merge_sha: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelOwner(Base):
    """The repository that owns a model name: the first one to promote it (one row per name)."""

    __tablename__ = "model_owners"

    model_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    repository: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ServePort(Base):
    """The stable ``mlflow-serve`` port of one (repository, model); a port serves one of them."""

    __tablename__ = "serve_ports"
    __table_args__ = (UniqueConstraint("port"),)

    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    port: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Lock(Base):
    """A named lock held by a run; free again once that run is no longer running."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Deployment(Base):
    """What should serve a model at one deploy target (``mlflow-serve``, ``ray-serve``, ``command``), and
    what the reconcile loop last saw answering; ``holder``/``lease_until``: the replica that keeps it."""

    __tablename__ = "deployments"

    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    target: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)  # the desired version
    url: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(Json)  # the deploy section, with the App's address
    state: Mapped[str] = mapped_column(String(16))  # serving, stopped (by an operator), retired
    health: Mapped[str] = mapped_column(String(16))  # up, down, unknown
    health_detail: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # this version and state since
    restarts: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Schedule(Base):
    """One schedule of a repository's default-branch configuration and the next time it fires."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_next_fire_at", "next_fire_at"),)

    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # "<pipeline> <cron>"
    cron: Mapped[str] = mapped_column(String(128))
    pipeline: Mapped[str] = mapped_column(String(32))
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    next_fire_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScheduleFire(Base):
    """One fire of a schedule: claimed once across replicas by its unique (repository, key, fire time)."""

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("repository", "key", "fire_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(160))
    fire_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReportFile(Base):
    """One published report file (a plot, report.md, log.txt) under its report's random token."""

    __tablename__ = "report_files"
    __table_args__ = (Index("ix_report_files_created_at", "created_at"),)

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DashboardIssue(Base):
    """The number of a repository's dashboard issue, once found or opened."""

    __tablename__ = "dashboard_issues"

    repository: Mapped[str] = mapped_column(String(255), primary_key=True)  # lower case
    issue_number: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReportPin(Base):
    """A published file kept past the retention period while its holder (``dashboard:<repo>``) shows it."""

    __tablename__ = "report_pins"

    holder: Mapped[str] = mapped_column(String(255), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(96))
    pinned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _table(model: type[Base]) -> Table:
    """The model's Table (SQLAlchemy types ``__table__`` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)  # a model with __tablename__ maps a Table
    return table


deliveries = _table(Delivery)
runs = _table(Run)
promotions = _table(Promotion)
locks = _table(Lock)
model_owners = _table(ModelOwner)
serve_ports = _table(ServePort)
report_files = _table(ReportFile)
report_pins = _table(ReportPin)
dashboard_issues = _table(DashboardIssue)
deployments = _table(Deployment)
schedules = _table(Schedule)
schedule_fires = _table(ScheduleFire)
