"""PR commands: the registry of command modules and the parser of comment bodies (pure: the
webhook router uses it to decide whether a comment is for modelgate).

A command is a line that starts with ``/retrain``, ``/rollback`` or ``/modelgate <command>``;
several lines run in order. Lines inside code fences, quoted lines and mentions mid-sentence
are not commands; other bots' ``/commands`` are left alone.
"""

from __future__ import annotations

import re

from bot.commands import help as help_module
from bot.commands import retrain, rollback
from bot.commands.base import Command, Invocation
from pipelines.config import ModelgateConfig

COMMANDS: dict[str, Command] = {c.name: c for c in (retrain.COMMAND, rollback.COMMAND, help_module.COMMAND)}
PREFIX = "modelgate"
UNKNOWN = "unknown"  # the invocation of a ``/modelgate <something we do not know>`` line
DIRECT = frozenset({"retrain", "rollback"})  # commands that need no ``/modelgate`` prefix
COMMAND_LINE = re.compile(r"^/(?P<name>[A-Za-z][\w-]*)(?P<args>[ \t][^\r\n]*)?\r?$", re.MULTILINE)
CODE_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
MAX_COMMANDS = 10


def parse_commands(body: str | None) -> list[Invocation]:
    """The modelgate commands of a comment body, in order (at most ``MAX_COMMANDS``)."""
    found: list[Invocation] = []
    for match in COMMAND_LINE.finditer(CODE_FENCE.sub("", body or "")):
        name, args = match["name"].lower(), tuple((match["args"] or "").split())
        line = match.group(0).strip()
        if name == PREFIX:
            name, args = (args[0].lower(), args[1:]) if args else ("help", ())
            if name not in COMMANDS:
                name, args = UNKNOWN, (line,)
        elif name not in DIRECT:
            continue  # another bot's command
        found.append(Invocation(name, args, line))
    return found[:MAX_COMMANDS]


def required_permission(command: Command, config: ModelgateConfig | None) -> str:
    """The permission ``command`` needs here: the default branch's rule, else the command's own."""
    rule = config.commands.get(command.name) if config is not None else None  # type: ignore[call-overload]
    return rule.permission if rule is not None else command.permission


def help_table(config: ModelgateConfig | None) -> str:
    """Markdown: every command, what it does and who may run it."""
    rows = ["| command | what it does | who may run it |", "|---|---|---|"]
    for command in COMMANDS.values():
        need = required_permission(command, config)
        who = "anyone" if need == "none" else f"{need} permission or more"
        rows.append(f"| `{command.usage}` | {command.help} | {who} |")
    return "**modelgate commands** (one per line, at the start of a line):\n\n" + "\n".join(rows)


__all__ = ["COMMANDS", "UNKNOWN", "Command", "Invocation", "help_table", "parse_commands",
           "required_permission"]
