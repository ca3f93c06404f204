"""RunStore: coalescing, claiming, the state machine, supersede, remember, recovery."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from bot.store import TERMINAL, InvalidTransition, RollbackJob, RunNotFound, RunState, RunStore, StagingJob
from tests.fixtures.clocks import Clock
from tests.fixtures.db import make_engine_for
from tests.fixtures.store_builders import SHA_A, SHA_B, SHA_C, job


def test_enqueue_coalesces_queued_runs_with_the_same_key(runs: RunStore) -> None:
    first = runs.enqueue(job(), delivery_guid=None)
    assert runs.enqueue(job()).id == first.id
    assert runs.enqueue(job(sha=SHA_B)).id != first.id
    assert runs.enqueue(job(kind="production")).id != first.id
    retrain = runs.enqueue(job(sha=None, author="mona"))
    assert runs.enqueue(job(sha=None)).id == retrain.id
    assert retrain.job == StagingJob(author="mona") and retrain.head_sha is None
    runs.claim("w")
    assert runs.enqueue(job()).id != first.id  # the twin is running: queue another


def test_a_coalesced_request_adds_its_details_to_the_queued_run(runs: RunStore) -> None:
    queued = runs.enqueue(job(draft=False, fork=True))
    again = runs.enqueue(job(approved_sha=SHA_A, approved_by="maintainer", force=True))
    assert again.id == queued.id
    assert again.job == StagingJob(draft=False, fork=True, approved_sha=SHA_A, approved_by="maintainer",
                                   force=True)


def test_commands_and_rollbacks_never_coalesce(runs: RunStore) -> None:
    first = runs.enqueue(job(kind="command", sha=None, comment_id=1))
    second = runs.enqueue(job(kind="command", sha=None, comment_id=2))
    rollbacks = [runs.enqueue(job(kind="rollback", pr=None, sha=None, to_version=v)) for v in (1, 2)]
    assert first.id != second.id and rollbacks[0].id != rollbacks[1].id
    assert [r.job_as(RollbackJob).to_version for r in rollbacks] == [1, 2]


def test_a_requested_scheduled_run_joins_only_its_requesters_queued_run(runs: RunStore) -> None:
    """A reader's request (refused by the worker) must not swallow a writer's, nor a fire."""
    reader = runs.enqueue(job(kind="scheduled", pr=None, sha=None, requested_by="reader"))
    writer = runs.enqueue(job(kind="scheduled", pr=None, sha=None, requested_by="maintainer"))
    again = runs.enqueue(job(kind="scheduled", pr=None, sha=None, requested_by="maintainer", issue=3))
    fires = [runs.enqueue(job(kind="scheduled", pr=None, sha=None, schedule="production 0 3 * * 1"))
             for _ in range(2)]
    assert len({reader.id, writer.id, fires[0].id}) == 3
    assert (again.id, fires[1].id) == (writer.id, fires[0].id)  # the same requester, fires: one run each
    installs = [runs.enqueue(job(kind="install", pr=None, sha=None, installation_id=7)) for _ in range(2)]
    assert installs[0].id != installs[1].id


def test_claim_takes_the_oldest_and_marks_it_running(runs: RunStore, clock: Clock) -> None:
    assert runs.claim("w") is None
    older = runs.enqueue(job(pr=1))
    newer = runs.enqueue(job(pr=2, kind="production"))
    now = clock.advance(5)
    claimed = runs.claim("w1")
    assert claimed is not None and claimed.id == older.id
    assert (claimed.state, claimed.attempts, claimed.worker_id) == (RunState.RUNNING, 1, "w1")
    assert claimed.started_at == now and claimed.heartbeat_at == now
    assert runs.claim("w2", kinds=["staging"]) is None
    other = runs.claim("w2", kinds=["production"])
    assert other is not None and other.id == newer.id
    assert runs.claim("w3") is None


def test_concurrent_claims_take_every_run_exactly_once(db_url: str, runs: RunStore) -> None:
    queued = {runs.enqueue(job(pr=n)).id for n in range(50)}
    engines = [make_engine_for(db_url, migrated=False) for _ in range(6)]
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(engines))

    def worker(index: int) -> None:
        store = RunStore(engines[index])
        start.wait()
        while (run := store.claim(f"w{index}")) is not None:
            with lock:
                claimed.append(run.id)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claimed) == sorted(queued)
    assert runs.counts() == {("staging", "running"): 50}
    assert {run.attempts for run in runs.list_runs()} == {1}


def test_illegal_transitions_raise(runs: RunStore) -> None:
    run = runs.enqueue(job())
    with pytest.raises(InvalidTransition, match=rf"run {run.id}\b.*from queued to succeeded"):
        runs.finish(run.id, RunState.SUCCEEDED)
    runs.claim("w")
    with pytest.raises(InvalidTransition, match="from running to queued"):
        runs.finish(run.id, RunState.QUEUED)
    done = runs.finish(run.id, "failed", error="boom")
    assert (done.state, done.error, done.terminal) == (RunState.FAILED, "boom", True)
    with pytest.raises(InvalidTransition) as caught:
        runs.finish(run.id, RunState.SUCCEEDED)
    assert (caught.value.from_state, caught.value.to_state) == ("failed", "succeeded")
    with pytest.raises(RunNotFound):
        runs.finish(999_999, RunState.SUCCEEDED)
    assert runs.get(999_999) is None


def test_finish_records_result_and_time(runs: RunStore, clock: Clock) -> None:
    run = runs.enqueue(job())
    runs.claim("w")
    now = clock.advance(30)
    done = runs.finish(run.id, RunState.SUCCEEDED, result={"auc": 0.91})
    assert (done.result, done.finished_at, done.error) == ({"auc": 0.91}, now, None)
    assert runs.get(run.id) == done


def test_heartbeat_only_for_the_owning_worker(runs: RunStore, clock: Clock) -> None:
    run = runs.enqueue(job())
    assert runs.heartbeat(run.id, "w1") is False  # queued
    runs.claim("w1")
    now = clock.advance(10)
    assert runs.heartbeat(run.id, "w1") is True
    assert runs.heartbeat(run.id, "w2") is False
    assert runs.get(run.id).heartbeat_at == now  # type: ignore[union-attr]
    runs.finish(run.id, RunState.SUCCEEDED)
    assert runs.heartbeat(run.id, "w1") is False


def test_cancel_queued(runs: RunStore) -> None:
    mine = [runs.enqueue(job(sha=SHA_A)), runs.enqueue(job(sha=SHA_B))]
    other_pr = runs.enqueue(job(pr=2))
    runs.claim("w")  # takes mine[0]
    cancelled = runs.cancel_queued("octo/models", 1, reason="pull request closed")
    assert [(r.id, r.state, r.error) for r in cancelled] == [
        (mine[1].id, RunState.CANCELLED, "pull request closed")
    ]
    assert runs.get(other_pr.id).state == RunState.QUEUED  # type: ignore[union-attr]
    assert runs.get(mine[0].id).state == RunState.RUNNING  # type: ignore[union-attr]


def test_supersede(runs: RunStore) -> None:
    running = runs.enqueue(job(sha=SHA_A))
    runs.claim("w")
    old = runs.enqueue(job(sha=SHA_B))
    retrain = runs.enqueue(job(sha=None))
    keep = runs.enqueue(job(sha=SHA_C))
    untouched = [runs.enqueue(job(pr=2, sha=SHA_A)), runs.enqueue(job(kind="production"))]
    superseded, still_running = runs.supersede("staging", "octo/models", 1, SHA_C)
    assert [r.id for r in superseded] == [old.id, retrain.id]
    assert {r.state for r in superseded} == {RunState.SUPERSEDED}
    assert superseded[0].error == "superseded by ccccccc"
    assert [(r.id, r.state) for r in still_running] == [(running.id, RunState.RUNNING)]
    assert still_running[0].cancel_requested == "superseded by ccccccc"
    assert runs.cancel_reason(running.id) == "superseded by ccccccc"
    assert runs.cancel_reason(keep.id) is None
    assert runs.finish(running.id, RunState.SUPERSEDED).state == RunState.SUPERSEDED
    for run in [keep, *untouched]:
        assert runs.get(run.id).state == RunState.QUEUED  # type: ignore[union-attr]
    assert runs.supersede("staging", "octo/models", 1, SHA_C) == ([], [])


def test_remember_merges_github_refs(runs: RunStore) -> None:
    run = runs.enqueue(job())
    runs.remember(run.id, "check_run_id", 5)
    merged = runs.remember(run.id, "comment_id", 9)
    assert merged.github_refs == {"check_run_id": 5, "comment_id": 9}
    assert runs.remember(run.id, "check_run_id", 6).github_refs == {
        "check_run_id": 6,
        "comment_id": 9,
    }
    with pytest.raises(RunNotFound):
        runs.remember(999_999, "x", 1)


def test_recover_stale_requeues_then_fails(runs: RunStore, clock: Clock) -> None:
    lease, max_attempts = 60.0, 2
    dying = runs.enqueue(job(pr=1))
    alive = runs.enqueue(job(pr=2))
    runs.claim("dead-worker")
    runs.claim("live-worker")
    clock.advance(50)
    assert runs.heartbeat(alive.id, "live-worker")
    assert runs.recover_stale(lease, max_attempts) == []
    clock.advance(20)  # dying: 70 s without heartbeat; alive: 20 s
    (requeued,) = runs.recover_stale(lease, max_attempts)
    assert (requeued.id, requeued.state, requeued.worker_id) == (dying.id, RunState.QUEUED, None)
    assert runs.heartbeat(dying.id, "dead-worker") is False
    again = runs.claim("second-worker")
    assert again is not None and (again.id, again.attempts) == (dying.id, 2)
    later = clock.current + timedelta(seconds=61)
    changed = runs.recover_stale(lease, max_attempts, now=later)
    assert [(r.id, r.state) for r in changed] == [
        (dying.id, RunState.FAILED),
        (alive.id, RunState.QUEUED),
    ]
    failed = changed[0]
    assert failed.error == "worker stopped responding after 2 attempts"
    assert failed.finished_at == later and failed.state in TERMINAL


def test_counts_and_list_runs(runs: RunStore) -> None:
    a = runs.enqueue(job(pr=1))
    b = runs.enqueue(job(pr=2))
    c = runs.enqueue(job(pr=3, kind="production"))
    runs.claim("w")
    assert runs.counts() == {
        ("staging", "running"): 1,
        ("staging", "queued"): 1,
        ("production", "queued"): 1,
    }
    assert [r.id for r in runs.list_runs()] == [c.id, b.id, a.id]
    assert [r.id for r in runs.list_runs(state="queued")] == [c.id, b.id]
    assert [r.id for r in runs.list_runs(repository="octo/models", pr_number=2)] == [b.id]
    assert [r.id for r in runs.list_runs(kind="production")] == [c.id]
    assert [r.id for r in runs.list_runs(limit=1)] == [c.id]
    assert runs.list_runs(repository="someone/else") == []


def test_times_are_stored_and_returned_as_utc(engine: Engine) -> None:
    berlin = timezone(timedelta(hours=1))
    moment = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=berlin)
    store = RunStore(engine, now=lambda: moment)
    run = store.enqueue(job())
    assert run.created_at == moment and run.created_at.tzinfo == UTC
    assert run.created_at.hour == 13


def test_request_cancel_only_reaches_running_runs(runs: RunStore) -> None:
    queued = runs.enqueue(job(pr=7))
    assert runs.request_cancel(queued.id, "closed") is False
    running = runs.claim("w")
    assert running is not None and runs.request_cancel(running.id, "pull request closed") is True
    assert runs.cancel_reason(running.id) == "pull request closed"
