"""The worker side of PR commands: acknowledge, authorize and dispatch each command of a comment.

``eyes`` on the comment as soon as a worker picks it up; then ``rocket`` when a command was
dispatched and/or ``-1`` with one short reply saying why not (no permission, unknown command,
PR closed, nothing to do). A denied command changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.commands.base import CommandLine, CommandResult, Context
from bot.commands.parser import UNKNOWN
from bot.commands.registry import COMMANDS, help_table, required_permission
from bot.feedback.replies import (
    arguments_unreadable,
    command_failed,
    command_reply,
    not_understood,
    permission_refused,
)
from bot.github import Repo
from bot.github.clients import ClientFactory, CommandClient
from bot.runs.decisions import Refusal, authorize_command
from bot.runs.outcome import RunOutcome
from bot.runs.repo_config import rules_config
from bot.store import CommandJob, RunRecord, RunState, RunStore
from pipelines.config import ModelgateConfig

log = logging.getLogger(__name__)


class CommandRun:
    """Handles claimed ``command`` runs (one per comment with modelgate commands)."""

    def __init__(self, github: ClientFactory[CommandClient], runs: RunStore, tracking_uri: str) -> None:
        self._github, self._runs, self._tracking_uri = github, runs, tracking_uri

    def __call__(self, run: RunRecord) -> RunOutcome:
        job = run.job_as(CommandJob)
        comment_id, author, invocations = job.comment_id, job.author or "", job.commands
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        api.react(repo, comment_id, "eyes")
        if run.pr_number is None or not invocations:
            return RunOutcome(RunState.CANCELLED, error="no command to run")
        pull = api.get_pull(repo, run.pr_number)
        role = api.permission(repo, author) if author else "none"
        config = self._config(api, repo, pull)
        context = Context(api, repo, run, pull, author, role, config, self._runs, self._tracking_uri,
                          help_table(config))
        outcomes = [(invocation, self._dispatch(context, invocation)) for invocation in invocations]
        return self._acknowledge(api, repo, run, comment_id, outcomes, context.help_table)

    def _config(self, api: CommandClient, repo: Repo, pull: dict[str, Any]) -> ModelgateConfig | None:
        """The rules come from the default branch's ``.modelgate.yml``, never from the PR."""
        base = pull.get("base") or {}
        return rules_config(api, repo, (base.get("repo") or {}).get("default_branch") or base.get("ref"))

    def _dispatch(self, ctx: Context, invocation: CommandLine) -> CommandResult:
        """Run one command if it is known and the commenter may run it."""
        command = COMMANDS.get(invocation.name) if invocation.name != UNKNOWN else None
        need = required_permission(command, ctx.config) if command is not None else None
        verdict = authorize_command(need, invocation.error, ctx.permission)
        if command is None or need is None:  # Refusal.UNKNOWN
            what = invocation.args[0] if invocation.args else invocation.line
            return CommandResult(False, not_understood(what))
        if verdict.refusal is Refusal.ARGUMENTS:
            return CommandResult(False, arguments_unreadable(str(invocation.error), command.usage))
        if verdict.refusal is Refusal.PERMISSION:
            return CommandResult(False, permission_refused(ctx.author, need, ctx.permission, command.name))
        try:
            return command.run(ctx, invocation)
        except Exception as exc:  # one command's failure must not lose the others' acknowledgement
            log.exception("command %s failed", invocation.line)
            return CommandResult(False, command_failed(invocation.line, f"{type(exc).__name__}: {exc}"))

    def _acknowledge(
        self, api: CommandClient, repo: Repo, run: RunRecord, comment_id: int,
        outcomes: list[tuple[CommandLine, CommandResult]], help_text: str,
    ) -> RunOutcome:
        """Reactions and one reply summing up every command of the comment."""
        dispatched = [o for _, o in outcomes if o.dispatched]
        refused = [(i, o) for i, o in outcomes if not o.dispatched]
        if dispatched:
            api.react(repo, comment_id, "rocket")
        if refused:
            api.react(repo, comment_id, "-1")
        table = help_text if any(i.name == UNKNOWN for i, _ in outcomes) else None
        body = command_reply([(i.line, o.message) for i, o in refused], table,
                             [o.reply for o in dispatched if o.reply])
        if body:
            api.create_comment(repo, int(run.pr_number or 0), body)
        summary = {"commands": [{"line": i.line, "dispatched": o.dispatched, "message": o.message}
                                for i, o in outcomes]}
        error = "; ".join(o.message for _, o in refused) or None
        return RunOutcome(RunState.FAILED if refused else RunState.SUCCEEDED, result=summary, error=error)
