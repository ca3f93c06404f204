"""Report files a dashboard shows are kept past the retention period: ``report_pins`` holds one row per
holder (``dashboard:<repository>``) naming the file it shows (a report token and a file name); retention
skips pinned files.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the report_pins table."""
    op.create_table(
        "report_pins",
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_report_pins")),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("report_pins")
