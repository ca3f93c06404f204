"""DeliveryStore.record_many: idempotence, group commit and the runs it queues."""

from __future__ import annotations

import time
from datetime import UTC

from sqlalchemy import Engine

from bot.store import DeliveryStore, RunState, RunStore, StagingJob
from tests.fixtures.clocks import Clock
from tests.fixtures.store_builders import SHA_A, SHA_B, delivery, job


def test_new_duplicate_and_duplicate_inside_a_batch(engine: Engine) -> None:
    store = DeliveryStore(engine)
    assert store.record_many([]) == []
    assert store.record_many([delivery("g1"), delivery("g2"), delivery("g1")]) == [
        True,
        True,
        False,
    ]
    assert store.record_many([delivery("g2"), delivery("g3"), delivery("g3")]) == [
        False,
        True,
        False,
    ]
    assert store.count() == 3


def test_get_returns_what_was_stored(engine: Engine) -> None:
    clock = Clock()
    store = DeliveryStore(engine, now=clock)
    store.record_many([delivery("g1", job(pr=5))])
    record = store.get("g1")
    assert record is not None
    assert (record.event, record.action, record.outcome) == (
        "pull_request",
        "synchronize",
        "accepted",
    )
    assert (record.installation_id, record.repository, record.summary) == (
        42,
        "octo/models",
        {"pr": 5},
    )
    assert record.received_at == clock.current and record.received_at.tzinfo == UTC
    assert store.get("missing") is None


def test_jobs_are_queued_only_for_new_deliveries(engine: Engine) -> None:
    deliveries, runs = DeliveryStore(engine), RunStore(engine)
    assert deliveries.record_many([delivery("g1", job(author="mona")), delivery("ignored")]) == [
        True,
        True,
    ]
    assert deliveries.record_many([delivery("g1", job())]) == [False]
    (run,) = runs.list_runs()
    assert (run.state, run.delivery_guid, run.job) == (
        RunState.QUEUED,
        "g1",
        StagingJob(author="mona"),
    )
    assert (run.kind, run.pr_number, run.head_sha, run.installation_id) == ("staging", 1, SHA_A, 42)


def test_jobs_coalesce_with_queued_runs_and_inside_a_batch(engine: Engine) -> None:
    deliveries, runs = DeliveryStore(engine), RunStore(engine)
    deliveries.record_many(
        [delivery("g1", job()), delivery("g2", job()), delivery("g3", job(sha=SHA_B))]
    )
    deliveries.record_many([delivery("g4", job()), delivery("g5", job(pr=2))])
    by_key = {(r.pr_number, r.head_sha): r.delivery_guid for r in runs.list_runs()}
    assert by_key == {(1, SHA_A): "g1", (1, SHA_B): "g3", (2, SHA_A): "g5"}
    claimed = runs.claim("w")
    assert claimed is not None and claimed.delivery_guid == "g1"
    deliveries.record_many([delivery("g6", job())])  # the queued twin is running now: new run
    assert runs.counts() == {("staging", "queued"): 3, ("staging", "running"): 1}


def test_group_commit_is_fast(engine: Engine) -> None:
    store = DeliveryStore(engine)
    total, size = 4000, 200
    started = time.perf_counter()
    for offset in range(0, total, size):
        batch = [
            delivery(f"guid-{n}", job(pr=n % 50) if n % 2 else None)
            for n in range(offset, offset + size)
        ]
        assert store.record_many(batch) == [True] * size
    rate = total / (time.perf_counter() - started)
    assert store.count() == total
    assert sum(RunStore(engine).counts().values()) == 50 // 2
    assert rate > 1000, f"only {rate:.0f} deliveries/s"
