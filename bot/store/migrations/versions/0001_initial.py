"""Initial schema: deliveries, runs, promotions.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True)


def _utc(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "deliveries",
        sa.Column("guid", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("repository", sa.String(255), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        _utc("received_at", nullable=False),
        sa.PrimaryKeyConstraint("guid", name=op.f("pk_deliveries")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("head_sha", sa.String(40), nullable=True),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("delivery_guid", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(255), nullable=True),
        _utc("heartbeat_at"),
        _utc("created_at", nullable=False),
        _utc("started_at"),
        _utc("finished_at"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("github_refs", JSON, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_guid"], ["deliveries.guid"], name=op.f("fk_runs_delivery_guid_deliveries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index("ix_runs_state_id", "runs", ["state", "id"])
    op.create_index(
        "ix_runs_repository_pr_number_kind", "runs", ["repository", "pr_number", "kind"]
    )
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("merge_sha", sa.String(40), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _utc("created_at", nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_promotions_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        sa.UniqueConstraint(
            "model_name", "merge_sha", name=op.f("uq_promotions_model_name_merge_sha")
        ),
    )


def downgrade() -> None:
    """Drop everything this revision created."""
    op.drop_table("promotions")
    op.drop_index("ix_runs_repository_pr_number_kind", table_name="runs")
    op.drop_index("ix_runs_state_id", table_name="runs")
    op.drop_table("runs")
    op.drop_table("deliveries")
