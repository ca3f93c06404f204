"""``StagingRun`` against the GitHub stand-in's real HTTP, with a canned executor (no training):
each test queues a staging run, calls the handler and reads the outcome and what GitHub shows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.feedback.check_run import RunReporter
from bot.feedback.messages import (
    APPROVAL_DESCRIPTION,
    config_report,
    progress_summary,
    report_for,
    staging_in_progress,
    waiting_for_approval,
)
from bot.github import Repo
from bot.github.limits import SlidingWindowLimiter
from bot.runs.outcome import RunOutcome
from bot.store import RunRecord, RunState, StagingJob
from pipelines.config import ConfigError, parse_config
from pipelines.progress import StepEvent, shown_steps
from pipelines.result import PipelineResult
from tests.fixtures.fake_executor import errored, gates_failed, passed, report_for_result, timed_out
from tests.fixtures.run_world import CONFIG, FILES, PUBLIC_URL, World

TRAINING = staging_in_progress()
MARKER = "<!-- modelgate:staging -->"


def _staging(world: World, sha: str, pr: int | None, **job: Any) -> tuple[RunOutcome, RunRecord]:
    """Queue and handle a staging run of PR ``pr`` at ``sha``, as a ``pull_request`` webhook queues it."""
    fields: dict[str, Any] = {"draft": False, "fork": False, **job}
    return world.process(world.request(StagingJob(**fields), pr, sha, "pull_request.opened"))


@pytest.mark.parametrize(
    ("canned", "state", "conclusion", "status"),
    [
        (passed(), RunState.SUCCEEDED, "success", "success"),
        (gates_failed(), RunState.SUCCEEDED, "failure", "failure"),
        (errored(), RunState.FAILED, "failure", "error"),  # a crash in train or data
        (timed_out(), RunState.FAILED, "timed_out", "failure"),
    ],
    ids=["passed", "gates-failed", "error", "timeout"],
)
@pytest.mark.parametrize("with_report", [False, True], ids=["summary", "published-report"])
def test_a_verdict_sets_the_check_the_status_and_the_sticky_comment(
    world: World, canned: PipelineResult, state: RunState, conclusion: str, status: str, with_report: bool,
) -> None:
    world.executor.canned = canned
    world.executor.report = report_for_result(canned) if with_report else None
    world.create_repo()
    sha, pr = world.open_pr()

    outcome, run = _staging(world, sha, pr)

    assert (outcome.state, run.state) == (state, state)
    assert outcome.result is not None and outcome.result["verdict"] == canned.status
    assert outcome.result["sha"] == sha and outcome.error == canned.error
    verdict = report_for(canned.as_dict(), canned.summary_line())
    assert world.statuses(sha) == [("pending", TRAINING), (status, verdict.description)]
    [check] = world.checks(sha)
    assert (check["status"], check["conclusion"]) == ("completed", conclusion)
    assert (check["output"]["title"], check["output"]["summary"]) == (verdict.title, verdict.summary)
    assert check["external_id"] == f"modelgate-run-{run.id}"
    assert [a["identifier"] for a in check["actions"]] == ["retrain"]
    assert run.github_refs["check_run_id"] == check["id"] and run.github_refs["sha"] == sha
    [comment] = world.comments(pr)
    assert comment.startswith(MARKER)
    assert run.github_refs["comment_id"] is not None
    # the executor got the commit's tree, downloaded once over the API
    [job] = world.executor.jobs
    assert (job.kind, job.use_cache, job.tags["modelgate.sha"], job.tags["modelgate.pr"]) == (
        "staging", True, sha, str(pr))
    assert set(FILES) <= set(world.executor.sources[0])
    assert world.downloads(sha) == 1
    assert not world.options.workdir.joinpath(f"run-{run.id}").exists()  # scratch folder removed
    if with_report:  # report.json → the rendered report, its log published under a token
        links = re.findall(rf"{re.escape(PUBLIC_URL)}/reports/([0-9a-f]{{32}})/log\.txt", comment)
        assert links, comment
        published_log = world.reports.store.get(links[0], "log.txt")
        assert published_log is not None and published_log.content.decode() == world.executor.log
        assert check["output"]["text"] and f"{PUBLIC_URL}/reports/" in check["output"]["text"]
    else:  # no report.json → the check's summary is the comment, and the check has no text
        assert verdict.summary in comment
        assert "/reports/" not in comment and check["output"].get("text") is None


def test_a_second_run_edits_the_sticky_comment_and_folds_the_previous_one(world: World) -> None:
    world.create_repo()
    first, pr = world.open_pr()
    _staging(world, first, pr)
    second = world.push({"model.py": "C = 0.25\n"}, "tune")
    world.executor.canned = gates_failed()
    _staging(world, second, pr)
    [comment] = world.comments(pr)
    assert comment.startswith(MARKER) and comment.count("<details>") == 1
    assert gates_failed().summary_line() in comment.split("<details>")[0]
    assert passed().summary_line() in comment.split("<details>")[1]


def _problems(text: str | None) -> list[str]:
    """What the App reports for ``.modelgate.yml`` = ``text`` (None: no such file)."""
    if text is None:
        return [".modelgate.yml: not found at the repository root"]
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return list(caught.value.messages)


@pytest.mark.parametrize(
    ("config", "shown"),
    [
        (None, ".modelgate.yml: not found at the repository root"),
        (CONFIG.replace("min: 0.85}", "min: 0.8, max: 1}"),
         ".modelgate.yml: gates.staging[0]: set exactly one of min, max"),
        ("model: [not, a, mapping]\n", ".modelgate.yml: model"),
    ],
    ids=["missing", "two-rules", "not-a-mapping"],
)
def test_a_missing_or_invalid_config_fails_with_every_message(world: World, config: str | None,
                                                              shown: str) -> None:
    world.create_repo()
    sha, pr = world.open_pr({".modelgate.yml": config})

    outcome, _ = _staging(world, sha, pr)

    invalid = config_report(_problems(config))
    assert shown in invalid.summary
    assert (outcome.state, outcome.error) == (RunState.FAILED, "invalid .modelgate.yml")
    assert world.statuses(sha) == [("pending", TRAINING), ("failure", invalid.description)]
    [check] = world.checks(sha)
    assert check["conclusion"] == "failure"
    assert (check["output"]["title"], check["output"]["summary"]) == (invalid.title, invalid.summary)
    [comment] = world.comments(pr)
    assert invalid.summary in comment  # the verdict on the PR, with every message
    assert world.executor.jobs == [] and world.downloads(sha) == 0


def test_a_draft_skips_when_its_config_says_run_on_draft_false(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr({".modelgate.yml": CONFIG + "run_on_draft: false\n"}, draft=True)

    outcome, _ = _staging(world, sha, pr, draft=True)

    assert (outcome.state, outcome.error) == (RunState.CANCELLED, "draft pull request (run_on_draft: false)")
    assert world.statuses(sha) == [] and world.checks(sha) == []  # nothing pending on a draft
    assert world.executor.jobs == [] and world.downloads(sha) == 0


def test_a_draft_runs_by_default(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr(draft=True)
    outcome, _ = _staging(world, sha, pr, draft=True)
    assert outcome.state == RunState.SUCCEEDED
    assert world.statuses(sha) == [("pending", TRAINING), ("success", passed().summary_line())]


def test_a_closed_pull_request_is_cancelled(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    world.merge(pr)

    outcome, _ = _staging(world, sha, pr)

    reason = f"pull request #{pr} is closed"
    assert (outcome.state, outcome.error) == (RunState.CANCELLED, reason)
    assert world.statuses(sha) == [("pending", TRAINING), ("error", reason)]
    [check] = world.checks(sha)
    assert check["conclusion"] == "cancelled"
    assert world.executor.jobs == [] and world.downloads(sha) == 0 and world.comments(pr) == []


def test_a_run_for_an_outdated_head_is_superseded(world: World) -> None:
    world.create_repo()
    old, pr = world.open_pr()
    new = world.push({"model.py": "C = 0.25\n"}, "tune")

    outcome, _ = _staging(world, old, pr)

    reason = f"superseded by {new[:7]}"
    assert (outcome.state, outcome.error) == (RunState.SUPERSEDED, reason)
    assert world.statuses(old) == [("pending", TRAINING), ("error", reason)]
    assert world.checks(old)[0]["conclusion"] == "cancelled"
    assert world.statuses(new) == [] and world.executor.jobs == [] and world.downloads(old) == 0


def test_a_run_superseded_while_its_job_runs_cancels_the_job(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    world.executor.polls = 50
    world.executor.on_submit = lambda job: world.runs.request_cancel(
        int(job.tags["modelgate.run_id"]), "superseded by 1234567")

    outcome, _ = _staging(world, sha, pr)

    assert (outcome.state, outcome.error) == (RunState.SUPERSEDED, "superseded by 1234567")
    assert world.executor.cancelled == [world.executor.jobs[0].job_id]
    assert world.statuses(sha)[-1] == ("error", "superseded by 1234567")
    assert world.checks(sha)[0]["conclusion"] == "cancelled" and world.comments(pr) == []


def test_older_runs_of_the_pull_request_are_superseded(world: World) -> None:
    world.create_repo()
    old, pr = world.open_pr()
    new = world.push({"model.py": "C = 0.25\n"}, "tune")
    older = world.runs.enqueue(world.request(StagingJob(), pr, old, "pull_request.opened"))
    world.runs.claim("another-worker")

    outcome, _ = _staging(world, new, pr)

    assert outcome.state == RunState.SUCCEEDED
    assert world.runs.cancel_reason(older.id) == f"superseded by {new[:7]}"


@pytest.mark.parametrize(
    ("approved", "runs"),
    [(None, False), ("someone else's", False), ("head", True)],
    ids=["not-approved", "approved-another-commit", "approved-this-head"],
)
def test_a_fork_runs_only_on_the_commit_a_maintainer_approved(world: World, approved: str | None,
                                                              runs: bool) -> None:
    base = world.create_repo()
    sha, pr = world.fork_pr()
    approved_sha = {"head": sha, "someone else's": base}.get(approved or "")

    outcome, _ = _staging(world, sha, pr, fork=True, approved_sha=approved_sha,
                          approved_by="bob" if approved_sha else None)

    [check] = world.checks(sha)
    assert [a["identifier"] for a in check["actions"]] == ["retrain"]
    if runs:
        assert outcome.state == RunState.SUCCEEDED
        assert world.statuses(sha) == [("pending", TRAINING), ("success", passed().summary_line())]
        assert check["conclusion"] == "success" and world.downloads(sha) == 1
        assert len(world.executor.jobs) == 1
        return
    assert (outcome.state, outcome.error) == (RunState.CANCELLED, "waiting for approval")
    assert outcome.result is None
    waiting = waiting_for_approval(sha, "comes from a fork")
    assert world.statuses(sha) == [("pending", APPROVAL_DESCRIPTION)]  # never "training"
    assert (check["status"], check["conclusion"]) == ("completed", "action_required")
    assert (check["output"]["title"], check["output"]["summary"]) == (waiting.title, waiting.summary)
    assert waiting.description == APPROVAL_DESCRIPTION and sha[:7] in waiting.summary
    assert world.downloads(sha) == 0 and world.executor.jobs == []  # nothing fetched, nothing run
    assert world.comments(pr) == []


@pytest.mark.parametrize(("rule", "waits"), [("forks", False), ("first_time", True)])
def test_first_time_contributors_wait_when_the_default_branch_says_so(world: World, rule: str,
                                                                      waits: bool) -> None:
    world.create_repo({**FILES, ".modelgate.yml": CONFIG + f"require_approval: {rule}\n"})
    # the PR turns the rule off in its own config: only the default branch's counts
    sha, pr = world.open_pr({".modelgate.yml": CONFIG + "require_approval: forks\n"}, author="newcomer")

    outcome, _ = _staging(world, sha, pr)

    if waits:
        assert (outcome.state, outcome.error) == (RunState.CANCELLED, "waiting for approval")
        assert world.statuses(sha)[-1] == ("pending", APPROVAL_DESCRIPTION)
        [check] = world.checks(sha)
        assert check["conclusion"] == "action_required"
        newcomer = waiting_for_approval(sha, "is by a first-time contributor")
        assert check["output"]["summary"] == newcomer.summary
        assert world.downloads(sha) == 0 and world.executor.jobs == []
    else:
        assert outcome.state == RunState.SUCCEEDED and world.downloads(sha) == 1


@pytest.mark.parametrize("force", [False, True])
def test_force_skips_the_result_cache(world: World, force: bool) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    _staging(world, sha, pr, force=force)
    [job] = world.executor.jobs
    assert job.use_cache is (not force)


def test_a_check_button_run_without_a_pr_finds_the_pr_of_its_commit(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    _staging(world, sha, pr)  # the PR's first run records the PR of the commit
    rerun = world.request(StagingJob(approved_sha=sha, approved_by="bob"), None, sha, "check_run.rerequested")
    outcome, run = world.process(rerun)
    assert outcome.state == RunState.SUCCEEDED and run.pr_number is None
    assert [c["conclusion"] for c in world.checks(sha)] == ["success", "success"]  # one per run
    assert len(world.comments(pr)) == 1  # the PR's sticky comment, edited
    assert world.executor.jobs[-1].tags["modelgate.pr"] == str(pr)


def _rows(summary: str) -> dict[str, str]:
    """The step table of a check run summary: step → state."""
    table = summary.split("| Step", 1)[1].splitlines()[2:]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table if line.startswith("|")]
    return {cells_[0]: cells_[1] for cells_ in cells}


def test_the_check_run_shows_each_step_as_it_ends_and_keeps_the_timings(world: World) -> None:
    world.use_options(progress_seconds=0.0)
    world.executor.polls = 8  # one event more per poll
    world.executor.events = [
        StepEvent("environment", "running"), StepEvent("environment", "done", 3.2),
        StepEvent("data", "done", 0.5), StepEvent("train", "done", 12.0), StepEvent("evaluate", "done", 0.3),
        StepEvent("champion", "done", 0.2), StepEvent("tracking", "done", 1.1),
    ]
    world.create_repo()
    sha, pr = world.open_pr()

    outcome, _ = _staging(world, sha, pr)

    assert outcome.state == RunState.SUCCEEDED
    [check] = world.checks(sha)
    live = [_rows(summary) for summary in check["summaries"]
            if summary.startswith(TRAINING) and "| Step" in summary]
    assert live[0]["fetch"] == "✅ done" and live[0]["environment"] != "✅ done"
    assert any(rows["environment"] == "✅ done" and rows["train"] == "⏸️ waiting" for rows in live)
    assert any(rows["train"] == "✅ done" and rows["report"] == "⏸️ waiting" for rows in live)
    final = check["output"]["summary"]
    assert "### Steps" in final and _rows(final) == {
        "fetch": "✅ done", "environment": "✅ done", "data": "✅ done", "train": "✅ done",
        "evaluate candidate": "✅ done", "evaluate champion": "✅ done", "predict latency": "⏭️ skipped",
        "report": "✅ done"}
    assert "| train | ✅ done | 12.0 s |" in " ".join(final.split())


def test_progress_is_skipped_while_the_content_limits_are_full(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    world.deliver(world.request(StagingJob(draft=False, fork=False), pr, sha, "pull_request.opened"))
    run = world.runs.claim("w")
    assert run is not None
    api = world.app.installation(world.sandbox.installation_id)
    reporter = RunReporter(api, Repo.parse(run.repository), world.runs, run, sha)
    steps = shown_steps([StepEvent("fetch", "done", 0.1)])
    assert reporter.progress(TRAINING, steps) is False  # no check run open yet
    reporter.start(TRAINING)
    api.limiter = SlidingWindowLimiter(((1, 60.0),))
    api.limiter.acquire()  # the window is full: a verdict would wait, progress does not

    assert reporter.progress(TRAINING, steps) is False
    api.limiter = SlidingWindowLimiter(((1, 60.0),))
    assert reporter.progress(TRAINING, steps) is True
    [check] = world.checks(sha)
    assert check["summaries"] == [TRAINING, progress_summary(TRAINING, steps)]
