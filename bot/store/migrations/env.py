"""Alembic environment. ``bot.store.migrate`` passes an open connection in
``config.attributes["connection"]``; otherwise ``sqlalchemy.url`` (or
``MODELGATE_DATABASE_URL``) is used, e.g. for ``alembic revision --autogenerate``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from bot.store.engine import create_db_engine
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    # Unqualified names (alembic_version included) follow the connection's search_path,
    # so a schema chosen with ``options=-csearch_path=...`` holds everything.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the given connection, or on a fresh engine for the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("MODELGATE_DATABASE_URL")
    if not url:
        raise RuntimeError("set sqlalchemy.url or MODELGATE_DATABASE_URL to run migrations")
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them online")
run_migrations_online()
