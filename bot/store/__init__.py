"""State: the durable job store — webhook deliveries, runs and the typed job each carries
(``jobs``), promotions, locks, ownership, schedules, dashboard issues and published report files — on
SQLite or PostgreSQL, with Alembic migrations."""

from bot.store.acknowledgements import AcknowledgementStore
from bot.store.dashboards import DashboardStore
from bot.store.deliveries import DeliveryStore, StoredBatch
from bot.store.deployments import (
    DeploymentKey,
    DeploymentRecord,
    DeploymentState,
    DeploymentStore,
    Desired,
    Health,
    Lease,
)
from bot.store.engine import create_db_engine, migrate, normalize_url, ping
from bot.store.jobs import (
    CommandJob,
    CommandLine,
    InstallJob,
    Job,
    ProductionJob,
    RollbackJob,
    RunKind,
    ScheduledJob,
    StagingJob,
    UninstallJob,
    load_job,
)
from bot.store.locks import LockStore, LockWaitStopped
from bot.store.owners import ModelOwner, OwnershipStore, PortHolder
from bot.store.promotions import PromotionRecord, PromotionState, PromotionStore
from bot.store.reports import ReportFileStore, StoredFile
from bot.store.runs import RunStore
from bot.store.schedules import FireRecord, ScheduleRecord, ScheduleStore, Wanted
from bot.store.types import (
    TERMINAL,
    TRANSITIONS,
    Acknowledgement,
    DeliveryRecord,
    IncomingDelivery,
    InvalidTransition,
    JobRequest,
    RunNotFound,
    RunRecord,
    RunState,
)

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "Acknowledgement",
    "AcknowledgementStore",
    "CommandJob",
    "CommandLine",
    "DashboardStore",
    "DeliveryRecord",
    "DeliveryStore",
    "DeploymentKey",
    "DeploymentRecord",
    "DeploymentState",
    "DeploymentStore",
    "Desired",
    "FireRecord",
    "Health",
    "IncomingDelivery",
    "InstallJob",
    "InvalidTransition",
    "Job",
    "JobRequest",
    "Lease",
    "LockStore",
    "LockWaitStopped",
    "ModelOwner",
    "OwnershipStore",
    "PortHolder",
    "ProductionJob",
    "PromotionRecord",
    "PromotionState",
    "PromotionStore",
    "ReportFileStore",
    "RollbackJob",
    "RunKind",
    "RunNotFound",
    "RunRecord",
    "RunState",
    "RunStore",
    "ScheduleRecord",
    "ScheduleStore",
    "ScheduledJob",
    "StagingJob",
    "StoredBatch",
    "StoredFile",
    "UninstallJob",
    "Wanted",
    "create_db_engine",
    "load_job",
    "migrate",
    "normalize_url",
    "ping",
]
