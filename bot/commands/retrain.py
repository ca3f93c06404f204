"""``/retrain [--force]``: run staging again on the PR's current head (``--force`` skips the cache).

A ``/retrain`` by someone with write permission also approves that head commit of a fork's PR
(even where ``commands.retrain`` lets readers retrain).
"""

from __future__ import annotations

from bot.commands.base import Command, Context, Invocation, Outcome, allows
from bot.store import JobRequest

FORCE = "--force"
APPROVER = "write"  # the least permission whose /retrain approves running a fork's commit


def retrain(ctx: Context, invocation: Invocation) -> Outcome:
    """Queue a staging run for the head SHA."""
    extra = [arg for arg in invocation.args if arg != FORCE]
    if extra:
        return Outcome(False, f"`/retrain` does not take `{' '.join(extra)}`; usage: `{COMMAND.usage}`")
    if ctx.pull.get("state") != "open":
        return Outcome(False, f"PR #{ctx.pull.get('number')} is closed: nothing to retrain")
    head = str(ctx.pull["head"]["sha"])
    head_repo = str(((ctx.pull["head"].get("repo") or {}).get("full_name")) or "")
    details = {"comment_id": ctx.run.details.get("comment_id"), "author": ctx.author,
               "force": FORCE in invocation.args,
               "fork": bool(head_repo) and head_repo.lower() != ctx.run.repository.lower(),
               "draft": bool(ctx.pull.get("draft"))}
    if allows(ctx.permission, APPROVER):  # whatever the command's rule, only writers approve code
        details.update(approved_sha=head, approved_by=ctx.author)
    job = JobRequest("staging", ctx.run.repository, ctx.run.installation_id, ctx.run.pr_number, head,
                     "issue_comment.retrain", details)
    queued = ctx.runs.enqueue(job)
    forced = " without the cache" if details["force"] else ""
    return Outcome(True, f"staging queued{forced} for `{head[:7]}` (run {queued.id})")


COMMAND = Command(
    name="retrain",
    usage="/retrain [--force]",
    help="Run staging again on the PR's head commit; `--force` retrains even if a cached result matches. "
    "On a fork's PR it approves running that commit.",
    permission="write",
    run=retrain,
)
