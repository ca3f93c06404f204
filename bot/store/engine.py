"""Engines, health check and programmatic Alembic migrations (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

from bot.store.writer_queue import writer_turn
from pipelines.tracking_store import schema_advisory_lock

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock key space for modelgate (first int); the second is the schema's hash.
_LOCK_NAMESPACE = 0x6D67  # "mg"
_SQLITE_BEGIN = "sqlite_begin"
_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=5000",  # first: switching to WAL may wait for another connection
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # no memory map (mmap_size stays 0): while the file grows, every transaction that sees it larger maps it
    # again (munmap + mmap, a TLB shootdown on every core), and two intake processes took turns doing so;
    # without it ingest went 6 % faster (bench/README.md)
)


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; bare ``postgresql://`` / ``postgres://`` get the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_db_engine(url: str | URL, *, background_checkpoints: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite tuned for concurrent use (WAL, IMMEDIATE writes and
    its directory created), PostgreSQL through psycopg 3. ``background_checkpoints``: SQLite's commits never
    checkpoint the WAL; a ``bot.store.checkpoints.WalCheckpointer`` must."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    _tune_sqlite(engine, (*_SQLITE_PRAGMAS, "PRAGMA wal_autocheckpoint=0") if background_checkpoints
                 else _SQLITE_PRAGMAS)
    return engine


def _tune_sqlite(engine: Engine, pragmas: tuple[str, ...]) -> None:
    """Pragmas on every connection, and BEGIN emitted by us (the pysqlite recipe) so that a
    write transaction can start as ``BEGIN IMMEDIATE`` and never fails on lock upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        # on the driver's connection (SQLAlchemy's execution of a BEGIN cost more than the BEGIN); a BEGIN
        # that fails raises the driver's error (sqlite3.OperationalError), not SQLAlchemy's wrapper
        conn.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: ``BEGIN IMMEDIATE`` on SQLite (takes the write lock up
    front, waiting up to busy_timeout), a plain transaction elsewhere. Commits on success.

    On a SQLite file the writers of every thread and process first wait for their turn
    (``bot.store.writer_queue``)."""
    with writer_turn(engine), engine.connect() as conn:
        conn.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            yield conn


def is_postgres(engine_or_conn: Engine | Connection) -> bool:
    """True when the database is PostgreSQL."""
    return engine_or_conn.dialect.name == "postgresql"


def ping(engine: Engine) -> bool:
    """True when the database answers ``SELECT 1``; False on any error (never raises)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.debug("database ping failed: %s", exc)
        return False


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``. Safe on every start and from many processes at
    once: PostgreSQL serializes on an advisory lock (per schema), SQLite on BEGIN IMMEDIATE."""
    with engine.connect() as conn, _migration_lock(conn):
        conn.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            command.upgrade(alembic_config(conn), revision)


@contextmanager
def _migration_lock(conn: Connection) -> Iterator[None]:
    """Hold a session-level ``pg_advisory_lock`` for this schema (no-op on SQLite)."""
    if not is_postgres(conn):
        yield
        return
    with schema_advisory_lock(conn, _LOCK_NAMESPACE):
        yield
