"""``ProductionRun`` promotes only what GitHub vouches for, against the stand-in's real HTTP: a
delivery whose SHA is not its PR's merge commit, an unmerged PR, a PR merged elsewhere, or a commit
off the default branch trains and promotes nothing, and the production check run says why.
(The merge and push paths that do promote: tests/runs/test_production_run.py and
tests/test_production_e2e.py.)"""

from __future__ import annotations

import pytest

from bot.feedback.outcomes import unverified_commit
from bot.store import ProductionJob, RunState
from tests.fixtures.fake_executor import MODEL, gates_failed
from tests.fixtures.run_world import CONFIG, FILES, NAME, OWNER, World

ON_PUSH = {**FILES, ".modelgate.yml": CONFIG + "production: {on_push: true}\n"}


def _why(sha: str, problem: str, pr: int | None = None, merge: str | None = None) -> str:
    """The status description of a refusal (``problem``: a ``Provenance`` value)."""
    return unverified_commit(sha, problem, pr, merge, "main").description


def _refused(world: World, sha: str, pr: int | None, trigger: str, expected: str) -> None:
    """A production run of ``sha`` is refused with the ``expected`` description and nothing runs."""
    outcome, run = world.process(world.request(ProductionJob(), pr, sha, trigger))
    assert (outcome.state, run.state, outcome.error) == (RunState.FAILED, RunState.FAILED, expected)
    assert world.statuses(sha, "production") == [("failure", expected)]  # never "training"
    [check] = world.checks(sha, "production")
    assert (check["status"], check["conclusion"]) == ("completed", "failure")
    assert check["output"]["summary"].startswith(f"**{expected}.**")
    assert world.executor.jobs == [] and world.downloads(sha) == 0
    assert world.promotions.history(MODEL) == [] and world.state()["deployments"] == []
    assert world.state()["comments"] == []


def test_a_forged_merge_whose_sha_is_not_the_merge_commit_is_refused(world: World) -> None:
    world.create_repo()
    head, pr = world.open_pr()
    merge = world.merge(pr)
    # a pull_request.closed delivery naming the PR but another commit (its unreviewed head)
    why = _why(head, "other merge commit", pr, merge)
    assert f"GitHub says {merge[:7]}" in why
    _refused(world, head, pr, "pull_request.merged", why)


def test_an_unmerged_pull_request_is_refused(world: World) -> None:
    world.create_repo()
    head, pr = world.open_pr()  # still open: "closed and merged" was a lie
    _refused(world, head, pr, "pull_request.merged", _why(head, "not merged", pr))


def test_a_pull_request_that_does_not_exist_is_refused(world: World) -> None:
    sha = world.create_repo()
    _refused(world, sha, 99, "pull_request.merged", _why(sha, "no pull request", 99))


def test_a_pull_request_merged_into_another_branch_is_refused(world: World) -> None:
    world.create_repo()
    world.push({"NOTES.md": "release line\n"}, branch="release")
    world.push({"model.py": "C = 2.0\n"}, branch="hotfix")
    pr = int(world.github.open_pull(OWNER, NAME, "hotfix", base="release", author="ada")["number"])
    merge = world.merge(pr)
    _refused(world, merge, pr, "pull_request.merged", _why(merge, "merged into another branch", pr))


def test_a_push_run_on_a_commit_off_the_default_branch_is_refused(world: World) -> None:
    world.create_repo(ON_PUSH)
    sha = world.push({"NOTES.md": "not on main\n"}, branch="side")
    _refused(world, sha, None, "push", _why(sha, "not on the default branch"))


def test_a_rerun_of_a_commit_github_does_not_know_writes_nothing(world: World) -> None:
    world.create_repo(ON_PUSH)
    sha = "f" * 40
    outcome, _ = world.process(world.request(ProductionJob(), None, sha, "check_run.rerequested"))
    expected = _why(sha, "unknown commit")
    assert (outcome.state, outcome.error) == (RunState.FAILED, expected)
    assert world.writes() == [] and world.executor.jobs == []


@pytest.mark.parametrize("older", [False, True], ids=["tip", "older-commit"])
def test_a_push_run_on_the_default_branch_goes_ahead(world: World, older: bool) -> None:
    world.executor.canned = gates_failed()
    world.create_repo(ON_PUSH)
    sha = world.push({"NOTES.md": "direct push\n"})
    if older:
        world.push({"NOTES.md": "and another\n"})  # sha is now behind main's tip, still on main
    outcome, _ = world.process(world.request(ProductionJob(), None, sha, "push"))
    assert outcome.result is not None and outcome.result["production"]["state"] == "rejected"
    assert len(world.executor.jobs) == 1
