"""Serial production: index the runs of a repository by state (claim checks for live serial
runs with it) and the ``locks`` table (named locks held by running runs, e.g. one per model).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the index and the locks table."""
    op.create_index("ix_runs_repository_state_kind", "runs", ["repository", "state", "kind"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_locks_run_id_runs")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )


def downgrade() -> None:
    """Drop the locks table and the index."""
    op.drop_table("locks")
    op.drop_index("ix_runs_repository_state_kind", table_name="runs")
