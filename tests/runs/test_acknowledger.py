"""Queued at intake: the ``Acknowledger`` against the GitHub stand-in's real HTTP and a real store. A stored
delivery's staging run gets a ``queued`` check run and a pending "queued (N ahead)" status before any
worker claims it; the worker moves that same check run on; a run claimed first, a fork's or a draft's is
left alone; a queued run superseded by a newer push has its check run closed. A stored tick of a dashboard's
"retrain now" box is unticked at once, with no worker."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bot.dashboard.render import TITLE, Champion, DashboardView, render
from bot.feedback.messages import queued_description, staging_in_progress
from bot.github import Repo
from bot.runs.acknowledger import Acknowledger
from bot.store import (
    Acknowledgement,
    AcknowledgementStore,
    IncomingDelivery,
    RunState,
    ScheduledJob,
    StagingJob,
)
from tests.fixtures.run_world import FULL, NAME, OWNER, World


@pytest.fixture
def acknowledger(world: World) -> Acknowledger:
    return Acknowledger(world.app, world.runs, AcknowledgementStore(world.engine))


def _request(world: World, sha: str, pr: int, **job: Any) -> Any:
    fields: dict[str, Any] = {"draft": False, "fork": False, **job}
    return world.request(StagingJob(**fields), pr, sha, "pull_request.opened")


def test_a_stored_staging_run_is_queued_on_github_and_its_worker_moves_the_same_check_run(
    world: World, acknowledger: Acknowledger
) -> None:
    world.create_repo()
    first, pr1 = world.open_pr(branch="one")
    second, pr2 = world.open_pr({"model.py": "C = 2.0\n"}, branch="two")
    guids = [world.deliver(_request(world, first, pr1)), world.deliver(_request(world, second, pr2))]

    acknowledged = acknowledger.acknowledge(guids)

    assert [run.head_sha for run in acknowledged] == [first, second]
    assert world.statuses(first) == [("pending", queued_description(0))]
    assert world.statuses(second) == [("pending", queued_description(1))]
    [check] = world.checks(first)
    assert check["status"] == "queued" and check["external_id"] == f"modelgate-run-{acknowledged[0].id}"
    assert acknowledger.acknowledge(guids) == []  # once: a redelivered webhook changes nothing

    run = world.runs.claim("w")
    assert run is not None and run.acknowledgement == Acknowledgement.POSTED
    outcome = world.handlers["staging"](run)
    assert outcome.state == RunState.SUCCEEDED
    [check] = world.checks(first)  # the same check run, completed by the worker
    assert check["status"] == "completed" and check["conclusion"] == "success"
    assert [state for state, _ in world.statuses(first)] == ["pending", "pending", "success"]
    assert world.statuses(first)[1] == ("pending", staging_in_progress())


@pytest.mark.parametrize("why", ["claimed-first", "fork", "draft"])
def test_runs_that_must_not_show_queued_are_left_alone(
    world: World, acknowledger: Acknowledger, why: str
) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    guid = world.deliver(_request(world, sha, pr, fork=why == "fork", draft=why == "draft"))
    if why == "claimed-first":
        claimed = world.runs.claim("w")
        assert claimed is not None and claimed.acknowledgement == Acknowledgement.SKIPPED

    assert acknowledger.acknowledge([guid]) == []
    assert world.statuses(sha) == [] and world.checks(sha) == []


def test_a_queued_run_superseded_by_a_newer_push_has_its_check_run_closed(
    world: World, acknowledger: Acknowledger
) -> None:
    world.create_repo()
    old, pr = world.open_pr()
    new = world.push({"model.py": "C = 0.25\n"}, "tune")
    # the newer push's run is queued first, the older commit's (a late delivery) after it
    acknowledger.acknowledge([world.deliver(_request(world, new, pr))])
    acknowledger.acknowledge([world.deliver(_request(world, old, pr))])
    assert world.checks(old)[0]["status"] == "queued"

    claimed = world.runs.claim("w")
    assert claimed is not None and claimed.head_sha == new
    assert world.handlers["staging"](claimed).state == RunState.SUCCEEDED

    [check] = world.checks(old)
    assert check["status"] == "completed" and check["conclusion"] == "cancelled"
    assert world.statuses(old)[-1][0] == "error"  # nothing stays pending on the older commit
    assert [run.state for run in world.runs.list_runs() if run.head_sha == old] == [RunState.SUPERSEDED]


def test_a_worker_waits_for_an_acknowledgement_being_written(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    acks = AcknowledgementStore(world.engine)
    world.deliver(_request(world, sha, pr))
    [queued] = world.runs.list_runs(state=RunState.QUEUED)
    assert acks.begin(queued.id) and not acks.begin(queued.id)
    claimed = world.runs.claim("w")
    assert claimed is not None and claimed.acknowledgement == Acknowledgement.POSTING

    finisher = threading.Timer(0.3, lambda: (world.runs.remember(queued.id, "check_run_id", 7),
                                             acks.end(queued.id)))
    started = time.monotonic()
    finisher.start()
    settled = acks.settled(claimed)
    assert time.monotonic() - started >= 0.25
    assert settled.acknowledgement == Acknowledgement.POSTED and settled.github_refs["check_run_id"] == 7


def test_an_acknowledgement_github_refuses_loses_nothing(world: World, acknowledger: Acknowledger) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    guid = world.deliver(_request(world, sha, pr))
    world.github.add_fault("repos/create-commit-status", 500)

    assert acknowledger.acknowledge([guid]) == []
    assert world.statuses(sha) == [] and world.checks(sha) == []

    run = world.runs.claim("w")
    assert run is not None  # not left 'posting': the worker does not wait for it
    assert run.acknowledgement != Acknowledgement.POSTING
    assert world.handlers["staging"](run).state == RunState.SUCCEEDED
    [check] = world.checks(sha)  # the worker's own check run, completed
    assert (check["status"], check["conclusion"]) == ("completed", "success")
    assert [state for state, _ in world.statuses(sha)] == ["pending", "success"]


def test_a_ticked_retrain_now_box_is_unticked_once_stored_before_any_worker(
    world: World, acknowledger: Acknowledger
) -> None:
    world.create_repo()
    api, repo = world.app.for_repository(FULL, None), Repo(OWNER, NAME)
    unticked = render(DashboardView(Champion("wine", None)))
    number = api.create_issue(repo, TITLE, unticked)
    ticked = unticked.replace("- [ ] Retrain now", "- [x] Retrain now")
    world.github.edit_issue(OWNER, NAME, number, ticked, author="reader")
    tick = world.request(ScheduledJob(requested_by="reader", issue=number), None, None, "issues.edited")
    delivery = IncomingDelivery("guid-tick", "issues", "edited", tick.installation_id, FULL, "accepted", {},
                                tick)
    other = IncomingDelivery("guid-other", "issues", "edited", None, FULL, "ignored", {})

    acknowledger.start()
    try:
        acknowledger.committed([other, delivery])  # as the writer calls it once they are stored
        deadline = time.monotonic() + 10
        while _body(world, number) != unticked and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        acknowledger.stop()
    assert _body(world, number) == unticked and world.runs.list_runs() == []  # no worker was involved
    edits = [r for r in world.state()["requests"] if r["operationId"] == "issues/update"]
    assert len(edits) == 1


def _body(world: World, number: int) -> str:
    return next(i["body"] for i in world.state()["issues"] if i["number"] == number)
