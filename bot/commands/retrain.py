"""``/retrain [--force]``: run staging again on the PR's head commit (``--force`` skips the cache).

A ``/retrain`` by someone with write permission (even where ``commands.retrain`` lets readers
retrain) also approves running untrusted code (a fork's PR, or a first-time contributor's): the head
that waited when the comment was written (``decide_approval``), never one pushed after it. When the
PR has moved on since, its newer head is not approved: it waits for a new approval, and the reply
says so.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.base import Command, CommandLine, CommandResult, Context, allows
from bot.feedback.replies import (
    retrain_head_moved,
    retrain_head_unknown,
    retrain_pr_closed,
    retrain_queued,
    unexpected_arguments,
)
from bot.runs.decisions import ApprovalAction, HeadApproval, decide_approval, untrusted_reason
from bot.runs.repo_config import approval_rule
from bot.store import CommandJob, JobRequest, StagingJob

FORCE = "--force"
APPROVER = "write"  # the least permission whose /retrain approves running a fork's commit
OPENED = "pull_request.opened"
# staging runs whose SHA was the PR's head when they were queued (a check button names any SHA)
HEAD_TRIGGERS = frozenset({OPENED, "pull_request.reopened", "pull_request.synchronize",
                           "pull_request.ready_for_review", "issue_comment.retrain"})
HEAD_HISTORY = 1000  # the PR's newest staging runs read for its heads


def retrain(ctx: Context, invocation: CommandLine) -> CommandResult:
    """Queue a staging run for the head SHA."""
    extra = [arg for arg in invocation.args if arg != FORCE]
    if extra:
        return CommandResult(False, unexpected_arguments(COMMAND.name, extra, COMMAND.usage))
    if ctx.pull.get("state") != "open":
        return CommandResult(False, retrain_pr_closed(ctx.pull.get("number")))
    head = str(ctx.pull["head"]["sha"])
    head_repo = str(((ctx.pull["head"].get("repo") or {}).get("full_name")) or "")
    fork = bool(head_repo) and head_repo.lower() != ctx.run.repository.lower()
    # whatever the command's rule, only writers approve code, and only the head they saw
    approval = _approval(ctx, head) if allows(ctx.permission, APPROVER) else None
    approved = approval is not None and approval.action == ApprovalAction.APPROVE
    job = StagingJob(
        comment_id=ctx.run.job_as(CommandJob).comment_id, author=ctx.author, force=FORCE in invocation.args,
        fork=fork, draft=bool(ctx.pull.get("draft")),
        approved_sha=head if approved else None, approved_by=ctx.author if approved else None,
    )
    queued = ctx.runs.enqueue(JobRequest(ctx.run.repository, ctx.run.installation_id, ctx.run.pr_number, head,
                                         "issue_comment.retrain", job))
    reply = _unapproved(ctx, fork, approval, head)
    return CommandResult(True, retrain_queued(head, queued.id, job.force), reply)


def _approval(ctx: Context, head: str) -> HeadApproval:
    """Which head the comment approves, from when it was written and when each head arrived."""
    return decide_approval(ctx.run.job_as(CommandJob).commented_at, heads_seen(ctx), head)


def heads_seen(ctx: Context) -> list[tuple[str, datetime]]:
    """The PR's heads as modelgate saw them, (sha, seen_at): when a staging run that took the head
    as it was then was queued (after the push, by modelgate's clock), and for the head the PR was
    opened with, the PR's ``created_at`` (GitHub's clock, so it is never after any comment on it)."""
    opened = _github_time(ctx.pull.get("created_at"))
    runs = ctx.runs.list_runs(ctx.run.repository, ctx.run.pr_number, limit=HEAD_HISTORY, kind="staging")
    return [(run.head_sha, opened if run.trigger == OPENED and opened is not None else run.created_at)
            for run in runs if run.head_sha and run.trigger in HEAD_TRIGGERS]


def _github_time(value: object) -> datetime | None:
    """A timestamp as GitHub's REST API writes it (``2024-05-01T12:00:00Z``); None if absent."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _unapproved(ctx: Context, fork: bool, approval: HeadApproval | None, head: str) -> str:
    """The reply when a maintainer's ``/retrain`` could not approve untrusted code ("" otherwise:
    nothing to say, or the PR's code runs without approval)."""
    if approval is None or approval.action == ApprovalAction.APPROVE:
        return ""
    if untrusted_reason(fork, ctx.pull.get("author_association"), approval_rule(ctx.config)) is None:
        return ""
    if approval.seen is None:
        return retrain_head_unknown(ctx.author, head)
    return retrain_head_moved(ctx.author, approval.seen, head)


COMMAND = Command(
    name="retrain",
    usage="/retrain [--force]",
    help="Run staging again on the PR's head commit; `--force` retrains even if a cached result matches. "
    "On a fork's PR it approves running the commit that was the head when the comment was written.",
    permission="write",
    run=retrain,
)
