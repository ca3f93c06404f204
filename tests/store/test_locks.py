"""Named locks held by running runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from bot.store import LockStore, LockWaitStopped, RunRecord, RunState, RunStore
from tests.fixtures.db import make_engine_for
from tests.fixtures.store_builders import job

LOCK = "model:wine"


def _running(runs: RunStore, repository: str) -> RunRecord:
    """A running production run of ``repository`` (one repository each: claims are serialized)."""
    runs.enqueue(job(kind="production", repository=repository))
    claimed = runs.claim("w", kinds=["production"])
    assert claimed is not None and claimed.repository == repository
    return claimed


def test_one_running_holder_and_free_once_it_stops_running(engine: Engine, runs: RunStore) -> None:
    locks = LockStore(engine)
    first, second = _running(runs, "octo/a"), _running(runs, "octo/b")
    assert locks.acquire(LOCK, first.id) and locks.acquire(LOCK, first.id)  # re-entrant for its run
    assert not locks.acquire(LOCK, second.id)
    assert locks.acquire("model:other", second.id)  # per name
    runs.finish(first.id, RunState.SUCCEEDED)  # finished without releasing: free anyway
    assert locks.acquire(LOCK, second.id) and locks.holder(LOCK) == second.id
    locks.release(LOCK, first.id)  # not the holder: nothing happens
    assert locks.holder(LOCK) == second.id
    locks.release(LOCK, second.id)
    assert locks.holder(LOCK) is None


def test_a_holder_whose_worker_died_loses_the_lock(engine: Engine, runs: RunStore) -> None:
    locks = LockStore(engine)
    dead, waiting = _running(runs, "octo/a"), _running(runs, "octo/b")
    assert locks.acquire(LOCK, dead.id)
    runs.recover_stale(lease_seconds=0, max_attempts=3, now=dead.heartbeat_at.replace(year=2100))
    assert runs.get(dead.id).state == RunState.QUEUED
    assert locks.acquire(LOCK, waiting.id)


def test_waiting_stops_when_the_run_is_asked_to(engine: Engine, runs: RunStore) -> None:
    locks = LockStore(engine)
    holder, waiter = _running(runs, "octo/a"), _running(runs, "octo/b")
    assert locks.acquire(LOCK, holder.id)
    asked: list[str | None] = [None, "superseded by abc1234"]
    with pytest.raises(LockWaitStopped, match="superseded"):
        locks.wait(LOCK, waiter.id, lambda: asked.pop(0), poll=0.01)


def test_concurrent_acquires_from_many_engines_have_one_winner(
    db_url: str, engine: Engine, runs: RunStore
) -> None:
    contenders = [_running(runs, f"octo/r{i}") for i in range(6)]
    won: list[int] = []
    barrier = threading.Barrier(len(contenders))

    def acquire(run_id: int) -> None:
        store = LockStore(make_engine_for(db_url))
        barrier.wait()
        if store.acquire(LOCK, run_id):
            won.append(run_id)

    threads = [threading.Thread(target=acquire, args=(run.id,)) for run in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and LockStore(engine).holder(LOCK) == won[0]
