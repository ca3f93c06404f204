"""Engines, ping and migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, text

from bot.store import create_db_engine, migrate, normalize_url, ping
from bot.store.engine import alembic_config
from bot.store.models import Base
from tests.fixtures.db import make_engine_for

ROOT = Path(__file__).resolve().parents[2]
MIGRATE = (
    "import sys; from bot.store import create_db_engine, migrate; "
    "migrate(create_db_engine(sys.argv[1]))"
)


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrate_is_idempotent_and_matches_the_models(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    assert _versions(engine) == [_head()]
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        tables = set(inspect(conn).get_table_names())
    assert {"deliveries", "runs", "promotions", "alembic_version"} <= tables


def test_migrations_stay_in_the_test_schema(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        tables = inspect(conn).get_table_names(schema=schema)
    assert schema is not None and schema.startswith("mg_test_")
    assert "alembic_version" in tables


@pytest.mark.e2e  # three Python processes importing the store and migrating (~5 s)
def test_processes_migrating_at_once_all_succeed(db_url: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, db_url], cwd=ROOT, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    errors = [proc.communicate(timeout=60)[1].decode() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    assert _versions(make_engine_for(db_url, migrated=False)) == [_head()]


def test_sqlite_engine_pragmas_and_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "modelgate.db"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys", "mmap_size")
            }
    finally:
        engine.dispose()
    assert path.parent.is_dir()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 5000,
        "foreign_keys": 1,
        "mmap_size": 0,  # no memory map: see bot.store.engine
    }


def test_postgres_urls_get_psycopg() -> None:
    for url in ("postgresql://u:p@db:5432/mg", "postgres://u:p@db/mg"):
        assert normalize_url(url).drivername == "postgresql+psycopg"
    engine = create_db_engine("postgresql://u@db/mg")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()
    assert normalize_url("postgresql+psycopg2://u@db/mg").drivername == "postgresql+psycopg2"


def test_ping(engine: Engine, db_url: str, tmp_path: Path) -> None:
    assert ping(engine) is True
    if make_url(db_url).get_backend_name() == "postgresql":
        dead_url = "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2"
    else:
        (tmp_path / "a-directory.db").mkdir()
        dead_url = f"sqlite:///{tmp_path / 'a-directory.db'}"
    dead = create_db_engine(dead_url)
    try:
        assert ping(dead) is False
    finally:
        dead.dispose()
