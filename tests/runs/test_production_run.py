"""``ProductionRun`` against the GitHub stand-in's real HTTP, with a canned executor (no training).

Only the paths that promote nothing are here: promoting a passed result registers an MLflow model
version from the pipeline's MLflow run (and deploys it), which a canned result cannot provide;
tests/test_production_e2e.py covers promotion, deployment and rollback."""

from __future__ import annotations

import pytest

from bot.feedback.messages import config_report, production_in_progress, report_for
from bot.feedback.outcomes import (
    already_promoted,
    duplicate_report,
    not_promoted_error,
    not_promoted_gates,
    with_outcome,
)
from bot.github.api import STATUS_DESCRIPTION_MAX
from bot.runs.outcome import RunOutcome
from bot.store import JobRequest, ProductionJob, PromotionState, RunRecord, RunState
from pipelines.config import ConfigError, parse_config
from pipelines.result import PipelineResult
from tests.fixtures.fake_executor import (
    GATE_FAILURE,
    MODEL,
    errored,
    gates_failed,
    report_for_result,
    timed_out,
)
from tests.fixtures.run_world import CONFIG, FILES, World

TRAINING = production_in_progress()
BROKEN = "model: [not, a, mapping]\n"
MARKER = "<!-- modelgate:production -->"


def _shown(description: str) -> str:
    """A commit status description as GitHub keeps it: at most 140 characters (the client cuts it)."""
    return description if len(description) <= STATUS_DESCRIPTION_MAX else \
        description[: STATUS_DESCRIPTION_MAX - 1] + "…"


def _merged(world: World) -> tuple[str, int]:
    """A PR merged into main; (merge commit, PR number)."""
    world.create_repo()
    _, pr = world.open_pr()
    return world.merge(pr), pr


def _production(world: World, sha: str, pr: int | None, trigger: str = "pull_request.closed"
                ) -> tuple[RunOutcome, RunRecord]:
    return world.process(world.request(ProductionJob(), pr, sha, trigger))


@pytest.mark.parametrize(
    ("canned", "state", "promotion", "conclusion", "status", "line"),
    [
        (gates_failed("production"), RunState.SUCCEEDED, PromotionState.REJECTED, "failure", "failure",
         not_promoted_gates([GATE_FAILURE])),
        (errored("production"), RunState.FAILED, PromotionState.FAILED, "failure", "error",
         not_promoted_error()),
        (timed_out("production"), RunState.FAILED, PromotionState.FAILED, "timed_out", "failure",
         not_promoted_error()),
    ],
    ids=["gates-failed", "error", "timeout"],
)
@pytest.mark.parametrize("with_report", [False, True], ids=["summary", "published-report"])
def test_a_merge_that_does_not_pass_promotes_nothing(
    world: World, canned: PipelineResult, state: RunState, promotion: PromotionState, conclusion: str,
    status: str, line: str, with_report: bool,
) -> None:
    world.executor.canned = canned
    world.executor.report = report_for_result(canned) if with_report else None
    sha, pr = _merged(world)

    outcome, run = _production(world, sha, pr)

    assert (outcome.state, run.state) == (state, state)
    assert outcome.result is not None
    assert outcome.result["production"] == {"state": promotion.value, "version": None, "outcome": line}
    [record] = world.promotions.history(MODEL)
    assert (record.merge_sha, record.run_id, record.state, record.version) == (sha, run.id, promotion, None)
    verdict = with_outcome(report_for(canned.as_dict(), canned.summary_line()), line)
    assert world.statuses(sha, "production") == [("pending", TRAINING), (status, _shown(verdict.description))]
    [check] = world.checks(sha, "production")
    assert (check["status"], check["conclusion"]) == ("completed", conclusion)
    assert (check["output"]["title"], check["output"]["summary"]) == (verdict.title, verdict.summary)
    assert line in verdict.summary and line.split(";")[0] in verdict.description
    assert check["actions"] == []  # no Retrain button on production
    [comment] = world.comments(pr)  # the sticky production comment on the merged PR
    assert comment.startswith(MARKER) and line in comment
    if with_report:
        assert "/reports/" in comment and check["output"]["text"]
    [job] = world.executor.jobs
    assert (job.kind, job.tags["modelgate.sha"]) == ("production", sha)
    assert world.state()["deployments"] == []
    assert world.locks.holder(f"model:{MODEL}") is None


def test_a_commit_already_promoted_is_reported_and_nothing_is_done_again(world: World) -> None:
    sha, pr = _merged(world)
    first = world.claim(world.request(ProductionJob(), pr, sha, "pull_request.closed"))
    world.runs.finish(first.id, RunState.SUCCEEDED)
    promotion, _ = world.promotions.claim(MODEL, sha, first.id)
    world.promotions.settle(promotion.id, PromotionState.PROMOTED, 3)

    outcome, _ = _production(world, sha, pr, "check_run.rerequested")  # e.g. Re-run on the check

    line = already_promoted(3, first.id)
    assert outcome.state == RunState.SUCCEEDED and outcome.result is not None
    assert outcome.result["verdict"] == "duplicate"
    assert outcome.result["production"] == {"state": "promoted", "version": 3, "outcome": line}
    assert world.statuses(sha, "production") == [("pending", TRAINING), ("success", line)]
    [check] = world.checks(sha, "production")
    assert check["conclusion"] == "success"
    assert check["output"]["summary"] == duplicate_report(sha, MODEL, line, True).summary
    assert world.executor.jobs == [] and world.downloads(sha) == 0  # nothing trained
    assert world.state()["deployments"] == [] and world.comments(pr) == []
    [record] = world.promotions.history(MODEL)
    assert (record.run_id, record.state, record.version) == (first.id, PromotionState.PROMOTED, 3)


def test_a_rejected_commit_is_evaluated_again_on_a_rerun(world: World) -> None:
    world.executor.canned = gates_failed()
    sha, pr = _merged(world)
    _, first = _production(world, sha, pr)
    outcome, second = _production(world, sha, pr, "check_run.rerequested")
    assert outcome.result is not None and outcome.result["production"]["state"] == "rejected"
    [record] = world.promotions.history(MODEL)  # the same claim, handed to the re-run
    assert (record.run_id, record.state) == (second.id, PromotionState.REJECTED)
    assert len(world.executor.jobs) == 2 and first.id != second.id
    assert len(world.comments(pr)) == 1  # the sticky comment, edited


@pytest.mark.parametrize(
    ("config", "merged", "reason"),
    [
        (CONFIG, False, "push: production.on_push is off"),
        (None, False, "push: .modelgate.yml is missing or invalid"),
        (CONFIG + "production: {on_push: true}\n", True, "push: the merge commit of PR #{pr} (its merge runs "
         "production)"),
    ],
    ids=["on-push-off", "no-config", "merge-commit"],
)
def test_a_push_that_does_not_run_production_writes_nothing(
    world: World, config: str | None, merged: bool, reason: str
) -> None:
    files = {k: v for k, v in FILES.items() if k != ".modelgate.yml"}
    world.create_repo(files if config is None else {**files, ".modelgate.yml": config})
    pr = 0
    if merged:
        _, pr = world.open_pr()
        sha = world.merge(pr)
    else:
        sha = world.push({"NOTES.md": "direct push\n"})

    outcome, _ = _production(world, sha, None, "push")

    assert (outcome.state, outcome.error) == (RunState.CANCELLED, reason.format(pr=pr))
    assert world.writes() == []  # no status, no check run, no comment, no deployment
    assert world.executor.jobs == [] and world.promotions.history(MODEL) == []


def test_a_push_runs_production_when_on_push_is_set(world: World) -> None:
    world.executor.canned = gates_failed()
    world.create_repo({**FILES, ".modelgate.yml": CONFIG + "production: {on_push: true}\n"})
    sha = world.push({"NOTES.md": "direct push\n"})

    outcome, _ = _production(world, sha, None, "push")

    assert outcome.result is not None and outcome.result["production"]["state"] == "rejected"
    assert world.statuses(sha, "production")[-1][0] == "failure"
    assert world.checks(sha, "production")[0]["conclusion"] == "failure"
    assert world.downloads(sha) == 1 and world.state()["comments"] == []  # no PR to comment on


def test_an_invalid_config_on_the_merge_commit_fails_with_the_messages(world: World) -> None:
    world.create_repo()
    _, pr = world.open_pr({".modelgate.yml": BROKEN})
    sha = world.merge(pr)

    outcome, _ = _production(world, sha, pr)

    assert (outcome.state, outcome.error) == (RunState.FAILED, "invalid .modelgate.yml")
    with pytest.raises(ConfigError) as problems:
        parse_config(BROKEN)
    invalid = config_report(problems.value.messages)
    assert world.statuses(sha, "production")[-1] == ("failure", invalid.description)
    assert world.checks(sha, "production")[0]["output"]["summary"] == invalid.summary
    [comment] = world.comments(pr)
    assert comment.startswith(MARKER) and invalid.summary in comment
    assert world.executor.jobs == [] and world.promotions.history(MODEL) == []


def test_a_run_waiting_for_its_models_lock_stops_when_asked(world: World) -> None:
    sha, pr = _merged(world)
    # a merge of another repository whose model has the same name is being evaluated
    other = world.claim(JobRequest("acme/other", world.sandbox.installation_id, 1, "c" * 40,
                                   "pull_request.closed", ProductionJob()))
    assert world.locks.acquire(f"model:{MODEL}", other.id)
    run = world.claim(world.request(ProductionJob(), pr, sha, "pull_request.closed"))
    reason = "cancelled: the merge was reverted"
    world.runs.request_cancel(run.id, reason)  # asked while it waits for the lock

    outcome = world.handlers["production"](run)

    assert (outcome.state, outcome.error) == (RunState.CANCELLED, reason)
    assert world.statuses(sha, "production") == [("pending", TRAINING), ("error", reason)]
    assert world.checks(sha, "production")[0]["conclusion"] == "neutral"
    assert world.locks.holder(f"model:{MODEL}") == other.id  # never taken from the running run
    assert world.executor.jobs == [] and world.promotions.history(MODEL) == []
