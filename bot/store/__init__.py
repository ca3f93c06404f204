"""The durable job store: webhook deliveries, runs, promotions and locks (SQLite or PostgreSQL)."""

from bot.store.deliveries import DeliveryStore
from bot.store.engine import create_db_engine, migrate, normalize_url, ping
from bot.store.locks import LockStore, LockWaitStopped
from bot.store.promotions import PromotionRecord, PromotionState, PromotionStore
from bot.store.runs import RunStore
from bot.store.types import (
    TERMINAL,
    TRANSITIONS,
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
    "DeliveryRecord",
    "DeliveryStore",
    "IncomingDelivery",
    "InvalidTransition",
    "JobRequest",
    "LockStore",
    "LockWaitStopped",
    "PromotionRecord",
    "PromotionState",
    "PromotionStore",
    "RunNotFound",
    "RunRecord",
    "RunState",
    "RunStore",
    "create_db_engine",
    "migrate",
    "normalize_url",
    "ping",
]
