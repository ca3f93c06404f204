"""A queued staging run is acknowledged on GitHub at intake: ``runs.acknowledgement`` is None (not yet),
"posting" (the acknowledger is writing its queued check run), "posted", or "skipped" (claimed first).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the column."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("acknowledgement", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("acknowledgement")
