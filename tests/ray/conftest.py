"""The Ray tests share one real local head, started for this package and stopped after it (an idle
head costs a tenth of a core: it must not outlive the Ray tests); a test that restarts a head gets
its own. They run together on one xdist worker (``--dist loadgroup``), so the head starts once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.ray_jobs import RayTarget
from tests.fixtures.ray_head import RayHead, require_ray
from tests.fixtures.s3_standin import S3Standin


def _running_head(read_only: tuple[Path, ...] = ()) -> Iterator[RayHead]:
    require_ray()
    head = RayHead(read_only)
    head.start()
    yield head
    head.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(scope="package")
def ray_head(s3: S3Standin, shared_environments: Path) -> Iterator[RayHead]:
    """The shared head: it reaches the S3 stand-in with the variables ``s3`` set, and mounts the shared
    environment cache read-only (for ``MODELGATE_RAY_ENVIRONMENTS=prebuilt``)."""
    yield from _running_head((shared_environments,))


@pytest.fixture(scope="module")
def serve_url(ray_head: RayHead) -> Iterator[str]:
    """Ray Serve running on the shared head for the module's tests (shut down after them: the other Ray
    tests' jobs get the head to themselves): its HTTP proxy's base URL."""
    yield ray_head.start_serve()
    ray_head.stop_serve()


@pytest.fixture
def own_ray_head() -> Iterator[RayHead]:
    """A head of the test's own (it may be stopped and restarted)."""
    yield from _running_head()


@pytest.fixture
def ray_target(ray_head: RayHead, tmp_path: Path) -> RayTarget:
    return RayTarget(ray_head.address, tmp_path / "storage")
