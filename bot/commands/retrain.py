"""``/retrain [--force]``: run staging again on the PR's current head (``--force`` skips the cache).

A ``/retrain`` by someone with write permission also approves that head commit of a fork's PR
(even where ``commands.retrain`` lets readers retrain).
"""

from __future__ import annotations

from bot.commands.base import Command, CommandLine, CommandResult, Context, allows
from bot.feedback.replies import retrain_pr_closed, retrain_queued, unexpected_arguments
from bot.store import CommandJob, JobRequest, StagingJob

FORCE = "--force"
APPROVER = "write"  # the least permission whose /retrain approves running a fork's commit


def retrain(ctx: Context, invocation: CommandLine) -> CommandResult:
    """Queue a staging run for the head SHA."""
    extra = [arg for arg in invocation.args if arg != FORCE]
    if extra:
        return CommandResult(False, unexpected_arguments(COMMAND.name, extra, COMMAND.usage))
    if ctx.pull.get("state") != "open":
        return CommandResult(False, retrain_pr_closed(ctx.pull.get("number")))
    head = str(ctx.pull["head"]["sha"])
    head_repo = str(((ctx.pull["head"].get("repo") or {}).get("full_name")) or "")
    approves = allows(ctx.permission, APPROVER)  # whatever the command's rule, only writers approve code
    job = StagingJob(
        comment_id=ctx.run.job_as(CommandJob).comment_id, author=ctx.author, force=FORCE in invocation.args,
        fork=bool(head_repo) and head_repo.lower() != ctx.run.repository.lower(),
        draft=bool(ctx.pull.get("draft")),
        approved_sha=head if approves else None, approved_by=ctx.author if approves else None,
    )
    queued = ctx.runs.enqueue(JobRequest(ctx.run.repository, ctx.run.installation_id, ctx.run.pr_number, head,
                                         "issue_comment.retrain", job))
    return CommandResult(True, retrain_queued(head, queued.id, job.force))


COMMAND = Command(
    name="retrain",
    usage="/retrain [--force]",
    help="Run staging again on the PR's head commit; `--force` retrains even if a cached result matches. "
    "On a fork's PR it approves running that commit.",
    permission="write",
    run=retrain,
)
