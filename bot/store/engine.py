"""Engines, health check and programmatic Alembic migrations (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

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
)


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; bare ``postgresql://`` / ``postgres://`` get the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_db_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite tuned for concurrent use (WAL, IMMEDIATE writes and
    its directory created), PostgreSQL through psycopg 3."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    """Pragmas on every connection, and BEGIN emitted by us (the pysqlite recipe) so that a
    write transaction can start as ``BEGIN IMMEDIATE`` and never fails on lock upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: ``BEGIN IMMEDIATE`` on SQLite (takes the write lock up
    front, waiting up to busy_timeout), a plain transaction elsewhere. Commits on success.

    On a SQLite file the writers of every thread and process first queue on ``_WriterQueue``: SQLite's
    own wait for its lock polls in sleeps of 1 to 100 ms, so a writer (the webhook intake's event loop)
    that found it taken lost milliseconds after it was free again; the queue hands it over at once."""
    with _writer_queue(engine), engine.connect() as conn:
        conn.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            yield conn


class _WriterQueue:
    """One writer at a time on a SQLite file: a lock among this process's threads, then ``flock`` on
    ``<database>.writer`` among processes (both wake the next writer as soon as the holder is done).
    Re-entrant in a thread. SQLite's own locking stays what keeps the data right: this only orders."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.pid = os.getpid()
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._locked = False

    @contextmanager
    def held(self) -> Iterator[None]:
        """Wait for the turn (at most ``WAIT_SECONDS``: then SQLite's own wait decides), write, pass it on."""
        if not self._lock.acquire(timeout=WAIT_SECONDS):
            yield
            return
        try:
            if self._depth == 0:
                self._locked = self._flock()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._locked and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    self._locked = False
        finally:
            self._lock.release()

    def _flock(self) -> bool:
        """Take the file lock, polling every 0.2 ms (another process's commit takes a fraction of a ms);
        False after ``WAIT_SECONDS``."""
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(POLL_SECONDS)


WAIT_SECONDS = 5.0  # SQLite's busy_timeout
POLL_SECONDS = 0.0002
_QUEUES: dict[str, _WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def _writer_queue(engine: Engine) -> contextlib.AbstractContextManager[None]:
    """The writer queue of ``engine``'s SQLite file; nothing to queue on elsewhere."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return contextlib.nullcontext()
    queue = _QUEUES.get(database)
    if queue is None or queue.pid != os.getpid():  # a forked child queues anew
        with _QUEUES_LOCK:
            queue = _QUEUES.get(database)
            if queue is None or queue.pid != os.getpid():
                path = Path(database).expanduser().resolve()
                queue = _QUEUES[database] = _WriterQueue(path.with_name(path.name + ".writer"))
    return queue.held()


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
