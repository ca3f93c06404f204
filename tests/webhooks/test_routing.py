"""Routing is pure: every corpus delivery and derived edge cases, as a table."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.store import CommandJob, StagingJob
from bot.webhooks.routing import PayloadError, parse, route
from tests.fixtures.corpus import CORPUS_APP_ID, QUEUES, deliveries, derive

# Corpus deliveries that queue a run for App 29310 (kind, trigger); every other one is stored as ignored.
# The two pushes create the default branch: production runs, which the worker skips unless on_push.


@pytest.mark.parametrize("name", sorted(deliveries()))
def test_corpus_routing(name: str) -> None:
    d = deliveries()[name]
    payload = d.payload()
    routed = route(d.guid, d.event, d.body, CORPUS_APP_ID)
    assert routed.guid == d.guid and routed.event == d.event
    assert routed.action == payload.get("action")
    assert routed.installation_id == (payload.get("installation") or {}).get("id")
    assert routed.repository == (payload.get("repository") or {}).get("full_name")
    if name in QUEUES:
        assert routed.outcome == "accepted"
        assert routed.job is not None
        assert (routed.job.kind, routed.job.trigger) == QUEUES[name]
        if "repository" in payload:
            assert routed.job.repository == payload["repository"]["full_name"]
        else:  # the App lost repositories: all of one account's
            assert routed.job.repository == f"{payload['installation']['account']['login']}/*"
    else:
        assert (routed.outcome, routed.job) == ("ignored", None)


def test_pull_request_job_keys_come_from_the_payload() -> None:
    d = deliveries()["pull_request.synchronize.1"]
    pr = d.payload()["pull_request"]
    job = route(d.guid, d.event, d.body, None).job
    assert job is not None
    assert (job.pr_number, job.head_sha) == (pr["number"], pr["head"]["sha"])


def test_payload_without_installation_still_routes() -> None:
    d = deliveries()["pull_request.ready_for_review.1"]
    routed = route(d.guid, d.event, d.body, CORPUS_APP_ID)
    assert routed.installation_id is None and routed.job is not None
    assert routed.job.installation_id is None


def test_merged_pull_request_queues_production_for_the_merge_commit() -> None:
    merge_sha = "f" * 40
    d = derive("pull_request.opened.1", {"pull_request": {"merged": True, "merge_commit_sha": merge_sha,
                                                          "state": "closed"}}, action="closed")
    job = route(d.guid, d.event, d.body, CORPUS_APP_ID).job
    assert job is not None
    assert (job.kind, job.head_sha, job.trigger) == ("production", merge_sha, "pull_request.merged")


def test_pushes_to_the_default_branch_queue_production_for_the_pushed_commit() -> None:
    d = deliveries()["push.branch-created.1"]
    job = route(d.guid, d.event, d.body, CORPUS_APP_ID).job
    assert job is not None
    assert (job.kind, job.head_sha, job.pr_number) == ("production", d.payload()["after"], None)
    other_branch = derive("push.branch-created.1", {"ref": "refs/heads/feature"})
    deleted = derive("push.branch-created.1", {"deleted": True, "after": "0" * 40})
    tag = deliveries()["push.tag-deleted.1"]
    for ignored in (other_branch, deleted, tag):
        assert route(ignored.guid, ignored.event, ignored.body, CORPUS_APP_ID).job is None


def test_re_running_the_production_check_re_runs_production() -> None:
    rerun = derive("check_run.rerequested.1", {"check_run": {"app": {"id": CORPUS_APP_ID},
                                                             "name": "modelgate / production"}})
    job = route(rerun.guid, rerun.event, rerun.body, CORPUS_APP_ID).job
    assert job is not None and (job.kind, job.trigger) == ("production", "check_run.rerequested")
    button = derive("check_run.requested_action.1", {"check_run": {"app": {"id": CORPUS_APP_ID},
                                                                   "name": "modelgate / production"},
                                                     "requested_action": {"identifier": "retrain"}})
    assert route(button.guid, button.event, button.body, CORPUS_APP_ID).job is None


def test_closed_unmerged_and_other_base_are_ignored() -> None:
    closed = derive("pull_request.opened.1", {"pull_request": {"merged": False, "state": "closed"}},
                    action="closed")
    other_base = derive("pull_request.opened.1", {"pull_request": {"base": {"ref": "release"}}})
    for d in (closed, other_base):
        assert route(d.guid, d.event, d.body, CORPUS_APP_ID).job is None


def _pr_comment(body: str, user_type: str = "User", login: str = "octocat"):  # type: ignore[no-untyped-def]
    return derive(
        "issue_comment.created.4",
        {"issue": {"pull_request": {"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}},
         "comment": {"body": body, "user": {"type": user_type, "login": login}},
         "sender": {"type": user_type, "login": login}},
    )


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        ("/retrain", ["/retrain"]),
        ("looks good\n/retrain\nthanks", ["/retrain"]),
        ("/retrain --force", ["/retrain --force"]),
        ("thanks!\r\n/retrain\r\n", ["/retrain"]),
        ("/modelgate help\n/rollback 3\n/retrain", ["/modelgate help", "/rollback 3", "/retrain"]),
        ("/modelgate frobnicate", ["/modelgate frobnicate"]),
        ("please /retrain this", []),
        ("> /retrain", []),
        ("```\n/retrain\n```", []),
        ("/retraining", []),
        ("/assign @octocat\n/lgtm", []),  # other bots' commands
        ("", []),
    ],
)
def test_command_lines_in_pr_comments(body: str, lines: list[str]) -> None:
    d = _pr_comment(body)
    job = route(d.guid, d.event, d.body, CORPUS_APP_ID).job
    assert (job is not None) is bool(lines)
    if job is not None:
        assert (job.kind, job.head_sha, job.trigger) == ("command", None, "issue_comment.command")
        command = job.job
        assert isinstance(command, CommandJob) and command.author == "octocat"
        assert command.comment_id == d.payload()["comment"]["id"]
        assert [c.line for c in command.commands] == lines
        # /retrain approves the head that waited when the comment was written (GitHub's created_at)
        created = datetime.fromisoformat(d.payload()["comment"]["created_at"])
        assert command.commented_at == created and created.tzinfo is not None


def test_command_arguments_and_unknown_subcommands() -> None:
    d = _pr_comment("/retrain --force\n/modelgate frobnicate now\n/modelgate")
    job = route(d.guid, d.event, d.body, CORPUS_APP_ID).job
    assert job is not None and isinstance(job.job, CommandJob)
    assert [(c.name, c.args) for c in job.job.commands] == [
        ("retrain", ("--force",)), ("unknown", ("/modelgate frobnicate now",)), ("help", ())]


def test_two_comments_are_two_command_runs_even_while_queued() -> None:
    first, second = _pr_comment("/retrain"), derive("issue_comment.created.4", {
        "issue": {"pull_request": {"url": "u"}}, "comment": {"id": 999, "body": "/retrain"}})
    jobs = [route(d.guid, d.event, d.body, CORPUS_APP_ID).job for d in (first, second)]
    assert jobs[0] is not None and jobs[1] is not None and jobs[0].key != jobs[1].key


def test_draft_pull_requests_carry_the_flag() -> None:
    d = derive("pull_request.opened.1", {"pull_request": {"draft": True}})
    job = route(d.guid, d.event, d.body, CORPUS_APP_ID).job
    assert job is not None and job.job == StagingJob(draft=True, fork=False)


def test_bot_comments_and_plain_issue_comments_never_queue() -> None:
    bot = _pr_comment("/retrain", user_type="Bot", login="modelgate[bot]")
    plain = derive("issue_comment.created.4", {"comment": {"body": "/retrain"}})
    for d in (bot, plain):
        assert route(d.guid, d.event, d.body, CORPUS_APP_ID).job is None


def test_check_run_buttons_only_for_our_app() -> None:
    ours = derive("check_run.requested_action.1", {"check_run": {"app": {"id": CORPUS_APP_ID}},
                                                   "requested_action": {"identifier": "retrain"}})
    job = route(ours.guid, ours.event, ours.body, CORPUS_APP_ID).job
    assert job is not None and job.trigger == "check_run.requested_action"
    rerun = derive("check_run.rerequested.1", {"check_run": {"app": {"id": CORPUS_APP_ID}}})
    job = route(rerun.guid, rerun.event, rerun.body, CORPUS_APP_ID).job
    assert job is not None and job.head_sha == rerun.payload()["check_run"]["head_sha"]
    theirs = deliveries()["check_run.rerequested.1"]  # App 2
    assert route(theirs.guid, theirs.event, theirs.body, CORPUS_APP_ID).job is None


@pytest.mark.parametrize(
    ("event", "body", "message"),
    [
        ("pull_request", b"[1, 2]", "not a JSON object"),
        ("ping", b'"text"', "not a JSON object"),
        ("ping", b"{not json", "not valid JSON"),
        ("pull_request", b'{"action": "opened"}', "pull_request payload: pull_request: required field"),
        ("pull_request", b'{"pull_request": {"number": 1, "head": {"ref": "a"}}}', "head.sha: required"),
        ("push", b'{"ref": 5}', "push payload: ref"),
    ],
)
def test_malformed_payloads_name_the_problem(event: str, body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(event, body)


def test_unknown_event_parses_as_envelope() -> None:
    routed = route("g", "sponsorship", b'{"action": "created", "sender": {"login": "x"}}', 1)
    assert routed.outcome == "ignored" and routed.summary == {"sender": "x"}


def test_fork_pull_requests_and_check_buttons_carry_what_approval_needs() -> None:
    head = {"repo": {"full_name": "mallory/wine"}}
    fork = derive("pull_request.opened.1", {"pull_request": {"head": head}})
    job = route(fork.guid, fork.event, fork.body, CORPUS_APP_ID).job
    assert job is not None and job.job == StagingJob(draft=False, fork=True)
    rerun = derive("check_run.rerequested.1", {"check_run": {"app": {"id": CORPUS_APP_ID}}})
    job = route(rerun.guid, rerun.event, rerun.body, CORPUS_APP_ID).job
    sha, sender = rerun.payload()["check_run"]["head_sha"], rerun.payload()["sender"]["login"]
    assert job is not None and job.job == StagingJob(approved_sha=sha, approved_by=sender)


def test_edited_and_deleted_comments_never_queue() -> None:
    for action in ("edited", "deleted"):
        d = derive("issue_comment.created.4", {"issue": {"pull_request": {"url": "u"}},
                                               "comment": {"body": "/retrain"}}, action=action)
        assert route(d.guid, d.event, d.body, CORPUS_APP_ID).job is None
