"""``/modelgate help``: the table of commands, their usage and who may run them."""

from __future__ import annotations

from bot.commands.base import Command, CommandLine, CommandResult, Context
from bot.feedback.replies import help_shown


def help_command(ctx: Context, invocation: CommandLine) -> CommandResult:
    """Reply with the help table (the rules of this repository's default branch)."""
    return CommandResult(True, help_shown(), reply=ctx.help_table)


COMMAND = Command(
    name="help",
    usage="/modelgate help",
    help="Show this table.",
    permission="none",  # anyone who can comment
    run=help_command,
)
