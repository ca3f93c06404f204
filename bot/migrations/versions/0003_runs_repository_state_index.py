"""Index the runs of a repository by state: claim checks for live serial runs with it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the index."""
    op.create_index("ix_runs_repository_state_kind", "runs", ["repository", "state", "kind"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_runs_repository_state_kind", table_name="runs")
