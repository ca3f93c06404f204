"""``/rollback [VERSION]``: roll production back, as ``modelgate rollback`` does, for the model this
repository owns (its ``.modelgate.yml`` on the default branch names it and its champion came
from this repository)."""

from __future__ import annotations

from bot.commands.base import Command, CommandLine, CommandResult, Context
from bot.feedback.replies import (
    rollback_bad_arguments,
    rollback_no_champion,
    rollback_no_config,
    rollback_not_owned,
    rollback_queued,
)


def rollback(ctx: Context, invocation: CommandLine) -> CommandResult:
    """Queue a rollback run of the repository's model."""
    from bot.runs.rollback import request_rollback
    from pipelines.promotion import PromotionError, alias_version, version_tags
    from pipelines.tracking import CHAMPION_ALIAS, Tracker

    if len(invocation.args) > 1 or (invocation.args and not invocation.args[0].isdigit()):
        return CommandResult(False, rollback_bad_arguments(invocation.args, COMMAND.usage))
    if ctx.config is None:
        return CommandResult(False, rollback_no_config())
    model = ctx.config.model.name
    to_version = int(invocation.args[0]) if invocation.args else None
    try:
        champion = alias_version(Tracker(ctx.tracking_uri).client, model, CHAMPION_ALIAS)
        if champion is None:
            return CommandResult(False, rollback_no_champion(model))
        owner = version_tags(ctx.tracking_uri, model, champion).get("modelgate.repository", "")
        if owner.lower() != ctx.run.repository.lower():
            return CommandResult(False, rollback_not_owned(model, champion))
        actor = f"{ctx.author} (/rollback on {ctx.run.repository}#{ctx.run.pr_number})"
        queued = request_rollback(
            ctx.runs, ctx.tracking_uri, model, to_version, actor, repository=ctx.run.repository,
            installation_id=ctx.run.installation_id, trigger="issue_comment.rollback",
            reply_to=ctx.run.pr_number,
        )
    except PromotionError as exc:
        return CommandResult(False, str(exc))
    return CommandResult(True, rollback_queued(model, champion, to_version, queued.id))


COMMAND = Command(
    name="rollback",
    usage="/rollback [VERSION]",
    help="Move production back to the previous champion (or VERSION) and redeploy it.",
    permission="maintain",
    run=rollback,
)
