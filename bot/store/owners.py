"""OwnershipStore: which repository owns a model name, and which port serves each (repository, model).

A model name is claimed by the first repository that promotes it: the primary key on
``model_owners.model_name`` lets exactly one claim win however many runs or replicas race, and
every claim returns the winner. A stable ``mlflow-serve`` port is recorded per (repository,
model) so it survives restarts; the unique constraint on ``serve_ports.port`` keeps two of them
from holding one port. Repository names are kept in lower case (GitHub ignores case in them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from bot.store.engine import write_transaction
from bot.store.models import model_owners, serve_ports
from bot.store.queue import upsert_insert
from bot.store.types import utc, utc_now


@dataclass(frozen=True)
class ModelOwner:
    """The repository that owns ``model_name``, and the run that claimed it."""

    model_name: str
    repository: str
    run_id: int
    claimed_at: datetime


@dataclass(frozen=True)
class PortHolder:
    """A recorded ``mlflow-serve`` port and the (repository, model) it serves."""

    port: int
    repository: str
    model_name: str


class OwnershipStore:
    """Claims model names and serving ports; safe across threads, processes and replicas."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def owner(self, model_name: str) -> ModelOwner | None:
        """The owner of ``model_name``, or None when no repository has claimed it."""
        with self._engine.connect() as conn:
            row = conn.execute(select(model_owners).where(model_owners.c.model_name == model_name)).first()
        return None if row is None else ModelOwner(row.model_name, row.repository, row.run_id,
                                                   utc(row.claimed_at))

    def claim_model(self, model_name: str, repository: str, run_id: int) -> ModelOwner:
        """The owner of ``model_name``: ``repository`` when nobody owned it, else the one that did
        (the caller compares). One atomic insert: of racing claims, one wins and all see it."""
        row = {"model_name": model_name, "repository": repository.lower(), "run_id": run_id,
               "claimed_at": utc(self._clock())}
        with write_transaction(self._engine) as conn:
            stmt = upsert_insert(conn, model_owners).on_conflict_do_nothing(index_elements=["model_name"])
            conn.execute(stmt, [row])
        found = self.owner(model_name)
        assert found is not None  # inserted above, and owners are never deleted
        return found

    def ports(self) -> list[PortHolder]:
        """Every recorded serving port, lowest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(serve_ports).order_by(serve_ports.c.port))
            return [PortHolder(row.port, row.repository, row.model_name) for row in rows]

    def claim_port(self, repository: str, model_name: str, port: int) -> bool:
        """Record ``port`` as the serving port of (repository, model), replacing the one it had;
        False when another (repository, model) holds ``port`` (the unique constraint decides)."""
        row = {"repository": repository.lower(), "model_name": model_name, "port": port,
               "claimed_at": utc(self._clock())}
        try:
            with write_transaction(self._engine) as conn:
                stmt = upsert_insert(conn, serve_ports).values(row)
                stmt = stmt.on_conflict_do_update(index_elements=["repository", "model_name"],
                                                  set_={"port": port, "claimed_at": row["claimed_at"]})
                conn.execute(stmt)
        except IntegrityError:
            return False
        return True
