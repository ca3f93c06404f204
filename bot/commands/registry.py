"""The registry of PR commands, the permission each needs here, and the help table built from
the same specs (so the table cannot drift from what is enforced)."""

from __future__ import annotations

from bot.commands import help as help_module
from bot.commands import retrain, rollback
from bot.commands.base import Command
from bot.feedback.replies import commands_table
from pipelines.config import ModelgateConfig

COMMANDS: dict[str, Command] = {c.name: c for c in (retrain.COMMAND, rollback.COMMAND, help_module.COMMAND)}


def required_permission(command: Command, config: ModelgateConfig | None) -> str:
    """The permission ``command`` needs here: the default branch's rule, else the command's own."""
    rule = config.commands.get(command.name) if config is not None else None
    return rule.permission if rule is not None else command.permission


def help_table(config: ModelgateConfig | None) -> str:
    """Markdown: every command, what it does and who may run it."""
    return commands_table([(c.usage, c.help, required_permission(c, config)) for c in COMMANDS.values()])
