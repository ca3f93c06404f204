"""A staging run whose job vanished (its Ray head restarted) is handed back for the queue: its check
run and status stay in progress, nothing is published, and the next attempt reuses the check run."""

from __future__ import annotations

import pytest

from bot.feedback.messages import staging_in_progress
from bot.runs.retry import Retry
from bot.store import RunState, StagingJob
from pipelines.result import PipelineResult
from tests.fixtures.fake_executor import passed
from tests.fixtures.run_world import World

VANISHED = "the Ray job run-1-1 vanished (the head restarted?)"


def test_a_vanished_job_leaves_the_run_in_progress_for_its_next_attempt(world: World) -> None:
    world.executor.canned = PipelineResult.failure("staging", "vanished", VANISHED)
    world.create_repo()
    sha, pr = world.open_pr()
    run = world.claim(world.request(StagingJob(draft=False, fork=False), pr, sha, "pull_request.opened"))

    with pytest.raises(Retry) as retry:
        world.handlers["staging"](run)

    assert (retry.value.error_kind, retry.value.reason) == ("vanished", VANISHED)
    assert world.statuses(sha) == [("pending", staging_in_progress())]
    [check] = world.checks(sha)
    assert check["status"] == "in_progress" and world.comments(pr) == []

    world.runs.requeue(run.id, retry.value.reason)  # what the worker does within the attempts
    world.executor.canned = passed()
    again = world.runs.claim("w")
    assert again is not None and again.attempts == 2
    outcome = world.handlers["staging"](again)
    assert outcome.state == RunState.SUCCEEDED
    [check] = world.checks(sha)  # the same check run, now completed
    assert (check["status"], check["conclusion"]) == ("completed", "success")
