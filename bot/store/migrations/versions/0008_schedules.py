"""Continuous training: each repository's schedules with their next fire time, and one row per fire
(unique per repository, schedule and fire time: a fire is claimed once across replicas).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "schedules",
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("cron", sa.String(128), nullable=False),
        sa.Column("pipeline", sa.String(32), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("next_fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("repository", "key", name=op.f("pk_schedules")),
    )
    op.create_index(op.f("ix_schedules_next_fire_at"), "schedules", ["next_fire_at"])
    op.create_table(
        "schedule_fires",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_schedule_fires_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_fires")),
        sa.UniqueConstraint("repository", "key", "fire_at",
                            name=op.f("uq_schedule_fires_repository_key_fire_at")),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("schedule_fires")
    op.drop_index(op.f("ix_schedules_next_fire_at"), table_name="schedules")
    op.drop_table("schedules")
