"""A run whose job vanished goes back to the queue, one attempt more each claim, and fails for good,
reported like a dead worker's run, after MODELGATE_MAX_ATTEMPTS."""

from __future__ import annotations

import pytest

from bot.runs.outcome import RunOutcome
from bot.runs.retry import Retry
from bot.runs.worker import PoolOptions, WorkerPool
from bot.store import InvalidTransition, JobRequest, RunRecord, RunState, RunStore, StagingJob

VANISHED = "the Ray job run-1-1 vanished (the head restarted?)"


def _vanishing(run: RunRecord) -> RunOutcome:
    raise Retry("vanished", VANISHED)


def test_a_vanished_run_is_queued_again_then_fails_after_max_attempts(runs: RunStore) -> None:
    queued = runs.enqueue(JobRequest("octo/wine", 7, 1, "a" * 40, "pull_request.opened", StagingJob()))
    abandoned: list[RunRecord] = []
    pool = WorkerPool(runs, _vanishing, PoolOptions(size=1, max_attempts=3, worker_id="w1"),
                      on_abandoned=abandoned.append)
    for attempt in (1, 2):
        again = pool.run_one()
        assert again is not None and again.id == queued.id
        assert (again.state, again.attempts, again.worker_id, again.error) == (
            RunState.QUEUED, attempt, None, VANISHED)
    assert abandoned == []
    failed = pool.run_one()
    assert failed is not None and (failed.state, failed.attempts) == (RunState.FAILED, 3)
    assert failed.error == f"{VANISHED} (gave up after 3 attempts)"
    assert [run.id for run in abandoned] == [queued.id] and abandoned[0].error == failed.error
    assert pool.run_one() is None


def test_only_a_running_run_can_be_queued_again(runs: RunStore) -> None:
    queued = runs.enqueue(JobRequest("octo/wine", 7, 2, "b" * 40, "pull_request.opened", StagingJob()))
    with pytest.raises(InvalidTransition):
        runs.requeue(queued.id, VANISHED)
    claimed = runs.claim("w1")
    assert claimed is not None
    runs.finish(claimed.id, RunState.SUCCEEDED)
    with pytest.raises(InvalidTransition):
        runs.requeue(claimed.id, VANISHED)
