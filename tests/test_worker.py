"""The worker pool against real databases: processing, crashes, dead-worker recovery."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.runs.worker import PoolOptions, RunOutcome, WorkerPool
from bot.store import JobRequest, RunRecord, RunState, RunStore, StagingJob


def _job(pr: int, sha: str = "a" * 40) -> JobRequest:
    return JobRequest("octo/wine", 7, pr, sha, "pull_request.opened", StagingJob())


def test_run_one_finishes_with_the_handler_outcome(engine: Engine) -> None:
    runs = RunStore(engine)
    queued = runs.enqueue(_job(1))
    seen: list[RunRecord] = []

    def handle(run: RunRecord) -> RunOutcome:
        seen.append(run)
        return RunOutcome(RunState.SUCCEEDED, result={"verdict": "recorded"})

    pool = WorkerPool(runs, handle, PoolOptions(size=1, worker_id="w1"))
    done = pool.run_one()
    assert done is not None and done.id == queued.id
    assert (done.state, done.result, done.attempts) == (RunState.SUCCEEDED, {"verdict": "recorded"}, 1)
    assert seen[0].state == RunState.RUNNING and seen[0].worker_id == "w1"
    assert pool.run_one() is None  # nothing left


def test_a_crashing_handler_fails_the_run_with_the_error(engine: Engine) -> None:
    runs = RunStore(engine)
    runs.enqueue(_job(2))

    def handle(run: RunRecord) -> RunOutcome:
        raise ConnectionError("GitHub unreachable")

    done = WorkerPool(runs, handle).run_one()
    assert done is not None and done.state == RunState.FAILED
    assert done.error == "ConnectionError: GitHub unreachable"


def test_runs_of_a_dead_worker_are_requeued_then_failed_visibly(engine: Engine) -> None:
    past = datetime.now(UTC) - timedelta(minutes=10)
    stale_store = RunStore(engine, now=lambda: past)  # the dead process's clock
    runs = RunStore(engine)
    first = stale_store.enqueue(_job(3))
    stale_store.claim("dead-worker")  # claimed 10 minutes ago, never heart-beaten since
    abandoned: list[RunRecord] = []
    pool = WorkerPool(
        runs, lambda run: RunOutcome(RunState.SUCCEEDED),
        PoolOptions(size=1, lease_seconds=60, max_attempts=2), on_abandoned=abandoned.append,
    )
    assert [(r.id, r.state) for r in pool.recover()] == [(first.id, RunState.QUEUED)]
    assert abandoned == []
    # second attempt dies as well: attempts are used up, so the run fails and is reported
    stale_store.claim("dead-again")
    recovered = pool.recover()
    assert [(r.id, r.state) for r in recovered] == [(first.id, RunState.FAILED)]
    assert abandoned[0].id == first.id and "stopped responding after 2 attempts" in (abandoned[0].error or "")


def test_the_pool_processes_everything_on_its_threads(engine: Engine) -> None:
    runs = RunStore(engine)
    for pr in range(1, 9):
        runs.enqueue(_job(pr))
    handled: list[int] = []
    lock = threading.Lock()

    def handle(run: RunRecord) -> RunOutcome:
        with lock:
            handled.append(run.id)
        return RunOutcome(RunState.SUCCEEDED)

    pool = WorkerPool(runs, handle, PoolOptions(size=3, poll_interval=0.05, lease_seconds=5))
    pool.start()
    try:
        deadline = time.monotonic() + 20
        while len(handled) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        runs.enqueue(_job(99))
        pool.wake()
        while len(handled) < 9 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        pool.stop()
    assert sorted(handled) == sorted(set(handled)) and len(handled) == 9
    assert runs.counts() == {("staging", "succeeded"): 9}


def test_a_run_taken_back_by_recovery_keeps_its_new_owner(engine: Engine) -> None:
    runs = RunStore(engine)
    run = runs.enqueue(_job(4))
    later = datetime.now(UTC) + timedelta(minutes=5)

    def slow(claimed: RunRecord) -> RunOutcome:
        # while we "hang", another process's janitor decides we are dead and re-queues the run
        RunStore(engine, now=lambda: later).recover_stale(lease_seconds=60, max_attempts=3)
        return RunOutcome(RunState.SUCCEEDED)

    done = WorkerPool(runs, slow).run_one()
    assert done is not None and done.id == run.id and done.state == RunState.QUEUED


def test_a_pool_started_in_the_background_processes_runs_once_prepared(engine: Engine) -> None:
    runs = RunStore(engine)
    queued = runs.enqueue(_job(5))
    prepared = threading.Event()
    options = PoolOptions(size=1, poll_interval=0.05)
    pool = WorkerPool(runs, lambda run: RunOutcome(RunState.SUCCEEDED), options)
    pool.start_in_background(prepared.set)
    try:
        deadline = time.monotonic() + 20
        while runs.get(queued.id).state != RunState.SUCCEEDED and time.monotonic() < deadline:
            time.sleep(0.02)
        assert prepared.is_set() and pool.state == "running"
    finally:
        pool.stop()
    assert runs.get(queued.id).state == RunState.SUCCEEDED and pool.state == "stopped"


def test_a_pool_whose_preparation_fails_never_claims(engine: Engine) -> None:
    runs = RunStore(engine)
    queued = runs.enqueue(_job(6))

    def prepare() -> None:
        raise RuntimeError("the MLflow store is unreachable")

    pool = WorkerPool(runs, lambda run: RunOutcome(RunState.SUCCEEDED), PoolOptions(size=1))
    pool.start_in_background(prepare)
    pool.stop()  # joins the starting thread
    assert pool.state == "failed" and runs.get(queued.id).state == RunState.QUEUED


def test_a_pool_stopped_while_preparing_never_starts(engine: Engine) -> None:
    runs = RunStore(engine)
    queued = runs.enqueue(_job(7))
    pool = WorkerPool(runs, lambda run: RunOutcome(RunState.SUCCEEDED), PoolOptions(size=1))
    pool.start_in_background(pool.stop)  # serve shuts down before MLflow's store is ready
    pool.stop()
    assert pool.state == "stopped" and runs.get(queued.id).state == RunState.QUEUED
