"""PromotionStore: a model is promoted from a merge commit exactly once.

The row is claimed *before* anything is registered in MLflow; the unique constraint on
(model_name, merge_sha) makes a redelivered webhook, a re-run or a second replica find the
existing row instead of promoting again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy import update as sql_update

from bot.store.engine import write_transaction
from bot.store.models import promotions
from bot.store.queue import upsert_insert
from bot.store.types import utc, utc_now


class PromotionState(StrEnum):
    """Where a promotion stands."""

    PENDING = "pending"  # claimed: the production run is deciding / registering
    PROMOTED = "promoted"  # the version is champion
    REJECTED = "rejected"  # the production gates failed: nothing was promoted
    FAILED = "failed"  # promotion or deployment failed and was rolled back


@dataclass(frozen=True)
class PromotionRecord:
    """One merge commit's promotion of one model."""

    id: int
    model_name: str
    merge_sha: str
    run_id: int
    version: int | None
    state: PromotionState
    created_at: datetime


class PromotionStore:
    """Claims and records promotions; safe across threads, processes and replicas."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def claim(self, model_name: str, merge_sha: str, run_id: int) -> tuple[PromotionRecord, bool]:
        """The promotion of ``merge_sha`` for ``model_name``, and True if this call created it.

        False means another run (a redelivery, a retry, another replica) already owns it:
        the caller reports that promotion instead of promoting again.
        """
        row = {"model_name": model_name, "merge_sha": merge_sha, "run_id": run_id,
               "version": None, "state": PromotionState.PENDING.value, "created_at": utc(self._clock())}
        with write_transaction(self._engine) as conn:
            stmt = upsert_insert(conn, promotions).on_conflict_do_nothing(
                index_elements=["model_name", "merge_sha"]
            )
            created = conn.execute(stmt.returning(promotions.c.id), [row]).first() is not None
            found = conn.execute(
                select(promotions).where(promotions.c.model_name == model_name,
                                         promotions.c.merge_sha == merge_sha)
            ).one()
        return _record(found), created

    def reopen(self, promotion: PromotionRecord, run_id: int) -> PromotionRecord | None:
        """Hand a promotion that is not ``promoted`` (rejected, failed, or left pending by a run
        that died) to ``run_id`` for another try; None when it changed meanwhile (someone else
        took it over or promoted it). A compare-and-swap on the owning run: one caller wins."""
        stmt = (
            sql_update(promotions)
            .where(promotions.c.id == promotion.id, promotions.c.run_id == promotion.run_id,
                   promotions.c.state != PromotionState.PROMOTED.value)
            .values(run_id=run_id, state=PromotionState.PENDING.value, version=None)
            .returning(*promotions.c)
        )
        with write_transaction(self._engine) as conn:
            row = conn.execute(stmt).first()
        return _record(row) if row is not None else None

    def settle(
        self, promotion_id: int, state: PromotionState, version: int | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> PromotionRecord:
        """Record how a claimed promotion ended (promoted as ``version``, rejected, failed); ``also`` writes
        more in the same transaction (the deployment the promotion made)."""
        stmt = (
            sql_update(promotions)
            .where(promotions.c.id == promotion_id)
            .values(state=state.value, version=version)
            .returning(*promotions.c)
        )
        with write_transaction(self._engine) as conn:
            settled = _record(conn.execute(stmt).one())
            if also is not None:
                also(conn)
            return settled

    def history(self, model_name: str, limit: int = 50) -> list[PromotionRecord]:
        """The model's promotions, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(promotions).where(promotions.c.model_name == model_name)
                .order_by(promotions.c.id.desc()).limit(limit)
            )
            return [_record(row) for row in rows]


def _record(row: Row[Any]) -> PromotionRecord:
    data = dict(row._mapping)
    data["created_at"] = utc(data["created_at"])
    data["state"] = PromotionState(data["state"])
    return PromotionRecord(**data)
