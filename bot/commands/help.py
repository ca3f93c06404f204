"""``/modelgate help``: the table of commands, their usage and who may run them."""

from __future__ import annotations

from bot.commands.base import Command, Context, Invocation, Outcome


def help_command(ctx: Context, invocation: Invocation) -> Outcome:
    """Reply with the help table (the rules of this repository's default branch)."""
    from bot.commands import help_table

    return Outcome(True, "help shown", reply=help_table(ctx.config))


COMMAND = Command(
    name="help",
    usage="/modelgate help",
    help="Show this table.",
    permission="none",  # anyone who can comment
    run=help_command,
)
