"""Database fixtures: ``db_url`` (a SQLite file, or a fresh PostgreSQL schema) and
``engine`` (migrated). Other test modules build extra engines with ``make_engine_for``.

PostgreSQL tests use ``MODELGATE_TEST_POSTGRES_URL``; with ``CI=true`` and no URL they use
``CI_POSTGRES_URL`` and fail when it is unreachable; otherwise they skip with a hint. Each
test gets its own schema (``options=-csearch_path=<schema>`` in the URL, so every engine and
the Alembic version table live in it), dropped afterwards: test processes can share a server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, NullPool, make_url, text

from bot.store import create_db_engine, migrate

POSTGRES_ENV = "MODELGATE_TEST_POSTGRES_URL"
CI_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_OFF = (
    f"PostgreSQL tests are off: set {POSTGRES_ENV}={CI_POSTGRES_URL} (CI=true turns them on)"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

_engines: dict[str, list[Engine]] = {}


def postgres_base_url() -> str | None:
    """The PostgreSQL server for tests, or None when PostgreSQL tests are off."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI", "").strip().lower() == "true":
        return CI_POSTGRES_URL
    return None


def make_engine_for(url: str, *, migrated: bool = True) -> Engine:
    """A new engine on the test database ``url`` (same file or schema), migrated unless told
    otherwise. It is disposed when the test's ``db_url`` is torn down."""
    engine = create_db_engine(url)
    _engines.setdefault(url, []).append(engine)
    if migrated:
        migrate(engine)
    return engine


def _dispose_engines(url: str) -> None:
    for engine in _engines.pop(url, []):
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the PostgreSQL test server (public schema), for creating schemas."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(POSTGRES_OFF)
    admin = create_db_engine(base, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        shown = make_url(base).render_as_string(hide_password=True)
        pytest.fail(f"PostgreSQL tests are on but {shown} is unreachable: {exc}", pytrace=False)
    yield admin
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of an empty database private to this test: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'modelgate.db'}"
        yield url
        _dispose_engines(url)
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    schema = f"mg_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    try:
        yield rendered
    finally:
        _dispose_engines(rendered)
        with admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on ``db_url``, disposed after the test."""
    engine = make_engine_for(db_url)
    yield engine
    engine.dispose()
