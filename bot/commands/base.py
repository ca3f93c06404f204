"""What every PR command declares (name, usage, help, permission) and what it is handed.

Commands are small modules in this package, each exposing ``COMMAND`` (Prow's plugins are the
model); ``bot.commands.registry`` lists them and ``bot.commands.parser`` turns comments into
``CommandLine`` invocations (the typed contract stored with a command run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.github import Repo
from bot.github.clients import CommandClient
from bot.store import CommandLine, RunRecord, RunStore
from pipelines.config import ModelgateConfig
from pipelines.config.access import CommandName

PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")  # GitHub's roles, weakest first


def allows(have: str, need: str) -> bool:
    """Whether repository permission ``have`` includes ``need`` (unknown roles allow nothing)."""
    if have not in PERMISSIONS or need not in PERMISSIONS:
        return False
    return PERMISSIONS.index(have) >= PERMISSIONS.index(need)


@dataclass(frozen=True)
class Context:
    """What a command may use: the PR as GitHub returns it, who asked, and the App's stores."""

    api: CommandClient
    repo: Repo
    run: RunRecord
    pull: dict[str, Any]
    author: str
    permission: str  # the commenter's role on the repository (GitHub's collaborator permission)
    config: ModelgateConfig | None  # from the default branch; None when missing or invalid
    runs: RunStore
    tracking_uri: str
    help_table: str  # every command, its usage and who may run it here (from the registry)


@dataclass(frozen=True)
class CommandResult:
    """How one command went: ``dispatched`` (rocket) or not (-1); ``message``: what happened (the
    reply says it for refused commands); ``reply``: what a dispatched command answers (help)."""

    dispatched: bool
    message: str = ""
    reply: str = ""


@dataclass(frozen=True)
class Command:
    """A PR command: ``run`` is called only for commenters with at least ``permission``."""

    name: CommandName
    usage: str
    help: str
    permission: str
    run: Callable[[Context, CommandLine], CommandResult] = field(compare=False)
