"""Dashboard issues: ``dashboard_issues`` remembers each repository's dashboard issue number (found by its
marker once, then read directly: a repository with thousands of issues never gets a second one), and
``report_pins`` keeps the report files a dashboard shows past the retention period (one row per holder,
``dashboard:<repository>``, naming a report token and a file; retention skips pinned files).

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
    """Create the tables."""
    op.create_table(
        "dashboard_issues",
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("issue_number", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("repository", name=op.f("pk_dashboard_issues")),
    )
    op.create_table(
        "report_pins",
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_report_pins")),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("report_pins")
    op.drop_table("dashboard_issues")
