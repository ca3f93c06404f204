"""The Ray tests share one real local head, started for this package and stopped after it (an idle
head costs a tenth of a core: it must not outlive the Ray tests); a test that restarts a head gets
its own. They run together on one xdist worker (``--dist loadgroup``), so the head starts once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.ray_jobs import RayTarget
from tests.fixtures.ray_head import RayHead, require_ray


def _running_head() -> Iterator[RayHead]:
    require_ray()
    head = RayHead()
    head.start()
    yield head
    head.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(scope="package")
def ray_head() -> Iterator[RayHead]:
    yield from _running_head()


@pytest.fixture
def own_ray_head() -> Iterator[RayHead]:
    """A head of the test's own (it may be stopped and restarted)."""
    yield from _running_head()


@pytest.fixture
def ray_target(ray_head: RayHead, tmp_path: Path) -> RayTarget:
    return RayTarget(ray_head.address, tmp_path / "storage")
