"""Shared pytest configuration: fixture plugins live in tests/fixtures/; the order tests run in."""

from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.standin", "tests.fixtures.speedups",
                  "tests.fixtures.environments", "tests.fixtures.s3_standin"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first, so the two xdist workers end together: the Ray tests (one worker runs them all,
    about six minutes), the whole-App e2e tests of this folder, the other e2e tests, then the fast
    ones that fill the gaps. Order within each part is kept."""
    here = Path(__file__).parent

    def weight(item: pytest.Item) -> int:
        if item.path.is_relative_to(here / "ray"):
            return 0
        if item.get_closest_marker("e2e"):
            return 1 if item.path.parent == here else 2
        return 3

    items.sort(key=weight)
