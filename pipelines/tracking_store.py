"""Create or upgrade the MLflow tracking and registry store once, before anything uses it.

MLflow creates its schema the first time a process opens an empty database, without a lock:
two processes that open a fresh SQLite file at once both run the migrations and fail
(``duplicate column name: step``, ``table … already exists``). ``prepare_tracking_store``
does that work under an inter-process lock, so every later process finds the schema current
and only verifies it:

* ``sqlite:///path`` — ``fcntl.flock`` on ``path.lock`` beside the database (processes of one
  host; a lock on a network file system is only as good as that file system's flock);
* ``postgresql…://`` — ``pg_advisory_lock`` on the database, per schema (any host);
* anything else (``http(s)://`` tracking servers, in-memory SQLite) — nothing to prepare.

A store left behind by an older MLflow is upgraded to this MLflow's schema (what
``mlflow db upgrade`` does), under the same lock. MLflow is pinned (pyproject.toml), and the
``mlflow.store.db.utils`` helpers used here are the ones ``mlflow db upgrade`` uses.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, NullPool, create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from pipelines.tracking import quiet_mlflow_environment

log = logging.getLogger(__name__)

# pg_advisory_lock key space (first int); the second is the schema's hash. bot/store uses 0x6D67.
_LOCK_NAMESPACE = 0x6D6C  # "ml"


_prepared: set[str] = set()  # by this process: a standby's warm-up, then its run, asks again
_preparing = threading.Lock()


def prepare_tracking_store(tracking_uri: str) -> None:
    """Create (or upgrade) the MLflow store at ``tracking_uri``; safe from many processes at once. Once
    per process and URI: a second call (its run, after a standby's warm-up) returns when the first is done."""
    with _preparing:
        if tracking_uri not in _prepared:
            _prepare(tracking_uri)
            _prepared.add(tracking_uri)


def _prepare(tracking_uri: str) -> None:
    try:
        url = make_url(tracking_uri)
    except ArgumentError:  # "databricks", a bare path: not a database MLflow opens itself
        log.debug("MLflow store %s: nothing to prepare", tracking_uri)
        return
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return  # in memory (private to this process), or a URI-mode name: nothing we can lock
        path = Path(database).expanduser().resolve()
        with _file_lock(path.with_name(path.name + ".lock")):
            _create_or_upgrade(tracking_uri)
    elif backend == "postgresql":
        with _advisory_lock(url):
            _create_or_upgrade(tracking_uri)
    else:
        log.debug("MLflow store %s: nothing to prepare", url.render_as_string(hide_password=True))


def _create_or_upgrade(tracking_uri: str) -> None:
    """Open the tracking and the registry store (MLflow creates an empty one's schema as it opens it),
    after upgrading a store an older MLflow left behind."""
    quiet_mlflow_environment()
    from mlflow.store.db import utils as db_utils
    from mlflow.tracking._model_registry.utils import _get_store as registry_store
    from mlflow.tracking._tracking_service.utils import _get_store as tracking_store

    started = time.monotonic()
    engine = db_utils.create_sqlalchemy_engine_with_retry(tracking_uri)
    try:
        fresh = not db_utils._all_tables_exist(engine)
        if not fresh:
            current, head = db_utils._get_schema_version(engine), db_utils._get_latest_schema_revision()
            if current != head:
                log.warning("upgrading the MLflow store from schema %s to %s", current, head)
                db_utils._upgrade_db(engine)
    finally:
        engine.dispose()
    # the stores are cached per URI (MlflowClient(tracking_uri) reuses them in this process)
    tracking_store(tracking_uri).search_experiments(max_results=1)
    registry_store(tracking_uri, tracking_uri).search_registered_models(max_results=1)
    if fresh:
        log.info("created the MLflow store in %.1f s", time.monotonic() - started)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created with its directory), released on exit or death."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to prepare the MLflow store (%s)", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(url: URL) -> Iterator[None]:
    """A session-level ``pg_advisory_lock`` for the URL's database and schema (its search_path)."""
    if url.drivername in {"postgresql", "postgres"}:  # psycopg 3 is installed, psycopg2 is not
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn, schema_advisory_lock(conn, _LOCK_NAMESPACE):
            yield
    finally:
        engine.dispose()


@contextmanager
def schema_advisory_lock(conn: Connection, namespace: int) -> Iterator[None]:
    """Hold a session-level PostgreSQL ``pg_advisory_lock`` on (``namespace``, the current schema)."""
    key = "(:ns, hashtext(coalesce(current_schema(), '')))"
    conn.execute(text(f"SELECT pg_advisory_lock{key}"), {"ns": namespace})
    conn.commit()
    try:
        yield
    finally:
        conn.execute(text(f"SELECT pg_advisory_unlock{key}"), {"ns": namespace})
        conn.commit()
