"""Fixtures of the store tests: a settable clock and a RunStore on the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.store import RunStore
from tests.fixtures.clocks import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runs(engine: Engine, clock: Clock) -> RunStore:
    return RunStore(engine, now=clock)
