"""Promotions are claimed once per (model, merge SHA), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from bot.store import JobRequest, ProductionJob, PromotionState, PromotionStore, RunStore
from tests.fixtures.db import make_engine_for


def _run(engine: Engine, sha: str) -> int:
    job = JobRequest("octo/models", 1, 3, sha, "pull_request.merged", ProductionJob())
    return RunStore(engine).enqueue(job).id


def test_a_merge_sha_is_claimed_once_and_settled(engine: Engine) -> None:
    store = PromotionStore(engine)
    first_run, retry_run = _run(engine, "a" * 40), _run(engine, "b" * 40)
    claimed, created = store.claim("wine", "a" * 40, first_run)
    assert created and claimed.state == PromotionState.PENDING and claimed.version is None
    again, created_again = store.claim("wine", "a" * 40, retry_run)  # a redelivery or a retry
    assert not created_again and again.id == claimed.id and again.run_id == first_run
    settled = store.settle(claimed.id, PromotionState.PROMOTED, version=7)
    assert (settled.state, settled.version) == (PromotionState.PROMOTED, 7)
    assert store.claim("wine", "a" * 40, retry_run)[0].state == PromotionState.PROMOTED
    other, created_other = store.claim("other-model", "a" * 40, retry_run)  # per model
    assert created_other and other.id != claimed.id
    assert [p.id for p in store.history("wine")] == [claimed.id]


def test_concurrent_claims_from_many_processes_create_one_row(db_url: str, engine: Engine) -> None:
    run_id = _run(engine, "c" * 40)
    created: list[bool] = []
    lock = threading.Lock()

    def claim() -> None:
        outcome = PromotionStore(make_engine_for(db_url)).claim("wine", "c" * 40, run_id)[1]
        with lock:
            created.append(outcome)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False] * 5 + [True]
    assert len(PromotionStore(engine).history("wine")) == 1


def test_a_rejected_promotion_is_reopened_by_one_run_only(engine: Engine) -> None:
    store = PromotionStore(engine)
    first, second, third = (_run(engine, c * 40) for c in "efg")
    claimed, _ = store.claim("wine", "d" * 40, first)
    rejected = store.settle(claimed.id, PromotionState.REJECTED)
    reopened = store.reopen(rejected, second)
    assert reopened is not None and (reopened.run_id, reopened.state) == (second, PromotionState.PENDING)
    assert store.reopen(rejected, third) is None  # the second run took it first
    promoted = store.settle(claimed.id, PromotionState.PROMOTED, version=3)
    assert store.reopen(promoted, third) is None  # a promotion is final
    assert store.claim("wine", "d" * 40, third)[0].version == 3
