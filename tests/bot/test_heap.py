"""``freeze_startup_heap``: what is alive when a process has started leaves the collector's generations
(full collections no longer walk it); what is made later stays collectable."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.processes.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_objects_alive_at_start_leave_the_collector_and_later_ones_stay(unfrozen: None) -> None:
    started = [object() for _ in range(3)]  # a container the collector tracks
    assert _tracked(started)
    freeze_startup_heap("a test")
    assert gc.get_freeze_count() > 0
    assert not _tracked(started)
    later: list[object] = []
    assert _tracked(later)


def test_garbage_of_the_start_up_is_collected_not_frozen(unfrozen: None) -> None:
    import weakref

    class Node:
        pass

    cycle = Node()
    cycle.self = cycle  # type: ignore[attr-defined]
    alive = weakref.ref(cycle)
    del cycle
    freeze_startup_heap("a test")
    assert alive() is None  # collected before freezing: a cycle left by the start-up is not kept forever
