"""Ownership: ``model_owners`` (a model name belongs to the first repository that promotes it; the
primary key on the name lets one claim win) and ``serve_ports`` (the stable ``mlflow-serve`` port
of each (repository, model); the unique constraint on the port keeps it to one of them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the model_owners and serve_ports tables."""
    op.create_table(
        "model_owners",
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_model_owners_run_id_runs")),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_model_owners")),
    )
    op.create_table(
        "serve_ports",
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("repository", "model_name", name=op.f("pk_serve_ports")),
        sa.UniqueConstraint("port", name=op.f("uq_serve_ports_port")),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("serve_ports")
    op.drop_table("model_owners")
