"""``/rollback [VERSION]``: roll production back, as ``modelgate rollback`` does, for the model this
repository owns (its ``.modelgate.yml`` on the default branch names it and its champion came
from this repository)."""

from __future__ import annotations

from bot.commands.base import Command, Context, Invocation, Outcome


def rollback(ctx: Context, invocation: Invocation) -> Outcome:
    """Queue a rollback run of the repository's model."""
    from bot.rollback import request_rollback
    from pipelines.promotion import PromotionError, alias_version, version_tags
    from pipelines.tracking import CHAMPION_ALIAS, Tracker

    if len(invocation.args) > 1 or (invocation.args and not invocation.args[0].isdigit()):
        return Outcome(False, f"usage: `{COMMAND.usage}` (VERSION is a registered version number)")
    if ctx.config is None:
        return Outcome(False, "the default branch has no valid `.modelgate.yml`: no model to roll back")
    model = ctx.config.model.name
    to_version = int(invocation.args[0]) if invocation.args else None
    try:
        champion = alias_version(Tracker(ctx.tracking_uri).client, model, CHAMPION_ALIAS)
        if champion is None:
            return Outcome(False, f"`{model}` has no champion: nothing to roll back")
        owner = version_tags(ctx.tracking_uri, model, champion).get("modelgate.repository", "")
        if owner.lower() != ctx.run.repository.lower():
            return Outcome(False, f"`{model}` version {champion} was not promoted from this repository")
        actor = f"{ctx.author} (/rollback on {ctx.run.repository}#{ctx.run.pr_number})"
        queued = request_rollback(
            ctx.runs, ctx.tracking_uri, model, to_version, actor, repository=ctx.run.repository,
            installation_id=ctx.run.installation_id, trigger="issue_comment.rollback",
            reply_to=ctx.run.pr_number,
        )
    except PromotionError as exc:
        return Outcome(False, str(exc))
    target = f"version {to_version}" if to_version else "the previous champion"
    return Outcome(True, f"rollback of `{model}` from version {champion} to {target} queued "
                         f"(run {queued.id})")


COMMAND = Command(
    name="rollback",
    usage="/rollback [VERSION]",
    help="Move production back to the previous champion (or VERSION) and redeploy it.",
    permission="maintain",
    run=rollback,
)
