"""``CommandRun`` against the GitHub stand-in's real HTTP: a user's comment, the command run the
webhook would queue for it, and the reactions, replies and queued runs that follow."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.commands.parser import parse_commands
from bot.commands.registry import help_table
from bot.feedback.replies import (
    not_understood,
    permission_refused,
    retrain_head_moved,
    retrain_head_unknown,
    retrain_pr_closed,
    retrain_queued,
)
from bot.runs.outcome import RunOutcome
from bot.store import CommandJob, RunRecord, RunState, StagingJob
from pipelines.config import parse_config
from tests.fixtures.run_world import CONFIG, FILES, NAME, OWNER, World

USAGES = ("/retrain [--force]", "/rollback [VERSION]", "/modelgate help")


def _say(world: World, pr: int, body: str, author: str) -> tuple[int, RunOutcome, RunRecord]:
    """``author`` comments ``body`` on PR ``pr`` and modelgate handles the command run the
    ``issue_comment`` webhook queues; (comment id, outcome, finished run)."""
    return _handle(world, pr, _comment(world, pr, body, author))


def _comment(world: World, pr: int, body: str, author: str) -> CommandJob:
    """``author`` comments ``body``: the command job its ``issue_comment`` webhook queues."""
    comment = world.github.comment(OWNER, NAME, pr, body, author=author)["comment"]
    return CommandJob(comment_id=int(comment["id"]), author=author, commands=tuple(parse_commands(body)),
                      commented_at=datetime.fromisoformat(comment["created_at"]))


def _handle(world: World, pr: int, job: CommandJob) -> tuple[int, RunOutcome, RunRecord]:
    """modelgate handles the command run of ``job``; (comment id, outcome, finished run)."""
    outcome, run = world.process(world.request(job, pr, None, "issue_comment.command"))
    return job.comment_id, outcome, run


def _seen(world: World, pr: int, sha: str, trigger: str = "pull_request.opened") -> None:
    """modelgate saw ``sha`` become PR ``pr``'s head (the staging run its webhook queued, here
    ended as a fork's waits)."""
    run = world.claim(world.request(StagingJob(fork=True), pr, sha, trigger))
    world.runs.finish(run.id, RunState.CANCELLED, error="waiting for approval")


def _replies(world: World, pr: int) -> list[str]:
    return [body for body in world.comments(pr) if "<!-- modelgate:" not in body]


def _queued_staging(world: World) -> list[RunRecord]:
    return [r for r in world.runs.list_runs(kind="staging") if r.state == RunState.QUEUED]


@pytest.mark.parametrize(
    ("body", "force"), [("/retrain", False), ("Upstream data changed.\n/retrain --force", True)],
    ids=["retrain", "retrain-force"],
)
def test_a_writers_retrain_queues_staging_on_the_head_and_approves_it(world: World, body: str,
                                                                      force: bool) -> None:
    world.create_repo()
    world.github.set_permission(OWNER, NAME, "bob", "write")
    sha, pr = world.open_pr()
    _seen(world, pr, sha)

    comment_id, outcome, _ = _say(world, pr, body, "bob")

    assert outcome.state == RunState.SUCCEEDED and outcome.error is None
    assert world.reactions(comment_id) == ["eyes", "rocket"]
    assert _replies(world, pr) == []  # a dispatched /retrain says it with the rocket
    [queued] = _queued_staging(world)
    assert (queued.pr_number, queued.head_sha, queued.trigger) == (pr, sha, "issue_comment.retrain")
    job = queued.job_as(StagingJob)
    assert (job.approved_sha, job.approved_by, job.force, job.fork) == (sha, "bob", force, False)
    assert (job.comment_id, job.author) == (comment_id, "bob")
    queued_message = retrain_queued(sha, queued.id, force)
    assert outcome.result == {"commands": [{"line": body.splitlines()[-1], "dispatched": True,
                                            "message": queued_message}]}


def test_a_writers_retrain_on_a_fork_approves_that_head(world: World) -> None:
    world.create_repo()
    world.github.set_permission(OWNER, NAME, "bob", "write")
    sha, pr = world.fork_pr()
    _seen(world, pr, sha)
    _, outcome, _ = _say(world, pr, "/retrain", "bob")
    assert outcome.state == RunState.SUCCEEDED
    [queued] = _queued_staging(world)
    job = queued.job_as(StagingJob)
    assert (queued.head_sha, job.fork, job.approved_sha, job.approved_by) == (sha, True, sha, "bob")
    assert _replies(world, pr) == []


def test_a_push_between_a_maintainers_retrain_and_its_handling_is_not_approved(world: World) -> None:
    world.create_repo()
    world.github.set_permission(OWNER, NAME, "bob", "write")
    sha, pr = world.fork_pr()
    _seen(world, pr, sha)  # the fork's PR waits for a maintainer
    retrain = _comment(world, pr, "Reviewed, looks fine.\n/retrain", "bob")  # bob looked at sha
    pushed = str(world.github.commit("eve", NAME, {"model.py": "C = 66.0\n"}, branch="idea",
                                     author="eve")["sha"])
    _seen(world, pr, pushed, "pull_request.synchronize")  # the push arrives before the comment is handled

    comment_id, outcome, _ = _handle(world, pr, retrain)

    assert outcome.state == RunState.SUCCEEDED and world.reactions(comment_id) == ["eyes", "rocket"]
    [queued] = _queued_staging(world)  # the new head, not approved
    job = queued.job_as(StagingJob)
    assert (queued.head_sha, job.approved_sha, job.approved_by) == (pushed, None, None)
    [reply] = _replies(world, pr)
    assert reply == retrain_head_moved("bob", sha, pushed)
    run = world.runs.claim("w")
    assert run is not None and run.id == queued.id
    waited = world.handlers["staging"](run)
    assert (waited.state, waited.error) == (RunState.CANCELLED, "waiting for approval")
    assert world.downloads(pushed) == 0 and world.downloads(sha) == 0  # neither commit ran
    [check] = world.checks(pushed)
    assert check["conclusion"] == "action_required"


def test_a_maintainers_retrain_approves_nothing_when_no_head_was_seen_before_it(world: World) -> None:
    world.create_repo()
    world.github.set_permission(OWNER, NAME, "bob", "write")
    sha, pr = world.fork_pr()  # e.g. opened before the App was installed: no run recorded its head

    comment_id, outcome, _ = _say(world, pr, "/retrain", "bob")

    assert outcome.state == RunState.SUCCEEDED and world.reactions(comment_id) == ["eyes", "rocket"]
    [queued] = _queued_staging(world)  # it records the head: a later /retrain can approve it
    assert (queued.head_sha, queued.job_as(StagingJob).approved_sha) == (sha, None)
    assert _replies(world, pr) == [retrain_head_unknown("bob", sha)]


@pytest.mark.parametrize(
    ("main_rule", "pr_rule", "role", "command", "need"),
    [
        (None, None, "read", "/retrain", "write"),
        ("commands: {retrain: {permission: write}}", None, "read", "/retrain", "write"),
        # a PR cannot lower the rule with its own .modelgate.yml
        ("commands: {retrain: {permission: write}}", "commands: {retrain: {permission: read}}", "read",
         "/retrain", "write"),
        ("commands: {retrain: {permission: admin}}", None, "maintain", "/retrain", "admin"),
        (None, None, "write", "/rollback", "maintain"),
        (None, None, "none", "/retrain", "write"),
    ],
    ids=["default-rule", "main-says-write", "pr-cannot-lower", "main-says-admin", "rollback-needs-maintain",
         "not-a-collaborator"],
)
def test_a_command_below_the_default_branchs_rule_is_refused_and_changes_nothing(
    world: World, main_rule: str | None, pr_rule: str | None, role: str, command: str, need: str
) -> None:
    world.create_repo({**FILES, ".modelgate.yml": CONFIG + (f"{main_rule}\n" if main_rule else "")})
    if role != "none":
        world.github.set_permission(OWNER, NAME, "rita", role)
    _, pr = world.open_pr({".modelgate.yml": CONFIG + f"{pr_rule}\n"} if pr_rule else None)

    comment_id, outcome, _ = _say(world, pr, command, "rita")

    assert outcome.state == RunState.FAILED
    assert world.reactions(comment_id) == ["eyes", "-1"]
    [reply] = _replies(world, pr)
    refusal = permission_refused("rita", need, role, command.removeprefix("/"))
    assert f"`{command}`" in reply and refusal in reply
    assert "@rita" in refusal and need in refusal and role in refusal  # who, what is needed, what they have
    assert outcome.error == refusal
    assert world.runs.list_runs(kind="staging") == [] and world.runs.list_runs(kind="rollback") == []


def test_the_default_branch_may_let_readers_retrain_without_approving_code(world: World) -> None:
    world.create_repo({**FILES, ".modelgate.yml": CONFIG + "commands: {retrain: {permission: read}}\n"})
    world.github.set_permission(OWNER, NAME, "rita", "read")
    sha, pr = world.open_pr()
    comment_id, outcome, _ = _say(world, pr, "/retrain", "rita")
    assert outcome.state == RunState.SUCCEEDED and world.reactions(comment_id) == ["eyes", "rocket"]
    [queued] = _queued_staging(world)
    assert queued.head_sha == sha and queued.job_as(StagingJob).approved_sha is None  # only writers approve


def test_an_unknown_command_is_answered_with_the_help_table(world: World) -> None:
    world.create_repo()
    _, pr = world.open_pr()

    comment_id, outcome, _ = _say(world, pr, "/modelgate foo", "newcomer")

    assert outcome.state == RunState.FAILED
    assert world.reactions(comment_id) == ["eyes", "-1"]
    [reply] = _replies(world, pr)
    table = help_table(parse_config(CONFIG))
    assert reply.index(not_understood("/modelgate foo")) < reply.index(table)  # what, then the table
    for usage in USAGES:
        assert usage in table
    assert world.runs.list_runs(kind="staging") == []


@pytest.mark.parametrize(
    ("main_rule", "rollback_need"),
    [(None, "maintain"), ("commands: {rollback: {permission: admin}}", "admin")],
    ids=["defaults", "main-configures-rollback"],
)
def test_help_replies_with_the_table_of_this_repository(world: World, main_rule: str | None,
                                                        rollback_need: str) -> None:
    world.create_repo({**FILES, ".modelgate.yml": CONFIG + (f"{main_rule}\n" if main_rule else "")})
    _, pr = world.open_pr()

    comment_id, outcome, _ = _say(world, pr, "/modelgate help", "newcomer")  # anyone may ask

    assert outcome.state == RunState.SUCCEEDED
    assert world.reactions(comment_id) == ["eyes", "rocket"]
    [reply] = _replies(world, pr)
    assert help_table(parse_config(CONFIG + (f"{main_rule}\n" if main_rule else ""))) in reply
    for usage in USAGES:
        assert usage in reply
    [rollback] = [line for line in reply.splitlines() if "/rollback [VERSION]" in line]
    [other] = {"maintain", "admin"} - {rollback_need}
    assert rollback_need in rollback and other not in rollback


def test_several_commands_get_one_reply_and_both_reactions(world: World) -> None:
    world.create_repo()
    world.github.set_permission(OWNER, NAME, "bob", "write")
    sha, pr = world.open_pr()

    comment_id, outcome, _ = _say(world, pr, "/retrain\n/rollback\n/modelgate help", "bob")

    assert outcome.state == RunState.FAILED  # one of them was refused
    assert outcome.result is not None
    assert [c["dispatched"] for c in outcome.result["commands"]] == [True, False, True]
    assert world.reactions(comment_id) == ["eyes", "rocket", "-1"]
    [reply] = _replies(world, pr)
    assert permission_refused("bob", "maintain", "write", "rollback") in reply
    assert help_table(parse_config(CONFIG)) in reply
    assert [r.head_sha for r in _queued_staging(world)] == [sha]


def test_a_retrain_on_a_closed_pull_request_is_refused(world: World) -> None:
    world.create_repo()
    world.github.set_permission(OWNER, NAME, "bob", "write")
    _, pr = world.open_pr()
    world.merge(pr)
    comment_id, outcome, _ = _say(world, pr, "/retrain", "bob")
    assert outcome.state == RunState.FAILED and world.reactions(comment_id) == ["eyes", "-1"]
    [reply] = _replies(world, pr)
    assert retrain_pr_closed(pr) in reply
    assert world.runs.list_runs(kind="staging") == []
