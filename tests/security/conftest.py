"""The security tests' fixture: ``world`` (tests/fixtures/hostile_world.py)."""

from tests.fixtures.hostile_world import world

__all__ = ["world"]
