"""Fixtures of the run-handler tests: ``world`` (tests/fixtures/run_world.py) on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.fixtures.run_world import World
from tests.fixtures.standin import SandboxHandle


@pytest.fixture
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only (overrides tests/fixtures/db.py's two backends): these tests are about the
    handlers and GitHub; tests/store runs the store on PostgreSQL too."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'modelgate.db'}"


@pytest.fixture
def world(sandbox: SandboxHandle, engine: Engine, tmp_path: Path) -> World:
    return World(sandbox, engine, tmp_path)
