"""Parse a comment body into modelgate command invocations. Pure: no I/O, table-tested.

A command is a line that starts with ``/retrain``, ``/rollback`` or ``/modelgate <command>``;
several lines run in order. Lines inside code fences, quoted lines and mentions mid-sentence
are not commands; other bots' ``/commands`` are left alone. Arguments are split like a shell
does (``shlex``), so quoted arguments keep their spaces; a line whose quotes do not close is
still an invocation, carrying the parse error for the reply.
"""

from __future__ import annotations

import re
import shlex

from bot.commands.registry import COMMANDS
from bot.store import CommandLine

PREFIX = "modelgate"
UNKNOWN = "unknown"  # the invocation of a ``/modelgate <something we do not know>`` line
DIRECT = frozenset({"retrain", "rollback"})  # commands that need no ``/modelgate`` prefix
COMMAND_LINE = re.compile(r"^/(?P<name>[A-Za-z][\w-]*)(?P<args>[ \t][^\r\n]*)?\r?$", re.MULTILINE)
CODE_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
MAX_COMMANDS = 10


def split_arguments(text: str) -> tuple[tuple[str, ...], str | None]:
    """``text`` split like a shell does, and the error when its quotes do not close."""
    try:
        return tuple(shlex.split(text)), None
    except ValueError as exc:
        return tuple(text.split()), f"could not read the arguments: {exc}"


def parse_commands(body: str | None) -> list[CommandLine]:
    """The modelgate commands of a comment body, in order (at most ``MAX_COMMANDS``)."""
    found: list[CommandLine] = []
    for match in COMMAND_LINE.finditer(CODE_FENCE.sub("", body or "")):
        name = match["name"].lower()
        args, error = split_arguments(match["args"] or "")
        line = match.group(0).strip()
        if name == PREFIX:
            name, args = (args[0].lower(), args[1:]) if args else ("help", ())
            if name not in COMMANDS:
                name, args, error = UNKNOWN, (line,), None
        elif name not in DIRECT:
            continue  # another bot's command
        found.append(CommandLine(name=name, args=args, line=line, error=error))
    return found[:MAX_COMMANDS]
