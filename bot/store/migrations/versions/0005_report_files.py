"""Report files in the database: ``report_files`` holds each published file (plots, report.md,
log.txt) under its report's random token, so that every replica serves what any replica published.
Retention deletes rows by ``created_at`` (indexed).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the report_files table and its created_at index."""
    op.create_table(
        "report_files",
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", "name", name=op.f("pk_report_files")),
    )
    op.create_index(op.f("ix_report_files_created_at"), "report_files", ["created_at"])


def downgrade() -> None:
    """Drop the table (and its index)."""
    op.drop_index(op.f("ix_report_files_created_at"), table_name="report_files")
    op.drop_table("report_files")
