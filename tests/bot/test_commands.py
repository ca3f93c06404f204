"""The command layer's pure parts: parsing comment bodies, permission ranks, the help table."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipelines
from bot.commands.base import allows
from bot.commands.parser import parse_commands
from bot.commands.registry import COMMANDS, help_table, required_permission
from pipelines.config import parse_config

CONFIG = (Path(pipelines.__file__).parent / "examples" / "wine-classifier" / ".modelgate.yml").read_text()


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("/retrain", [("retrain", ())]),
        ("/RETRAIN --force", [("retrain", ("--force",))]),
        ("/rollback 7\n/retrain", [("rollback", ("7",)), ("retrain", ())]),
        ("/modelgate", [("help", ())]),
        ("/modelgate help", [("help", ())]),
        ("/modelgate retrain --force", [("retrain", ("--force",))]),
        ("/modelgate deploy now", [("unknown", ("/modelgate deploy now",))]),
        ("  /retrain", []),  # not at the start of the line
        ("I will /retrain tomorrow", []),
        ("> /retrain", []),
        ("~~~\n/retrain\n~~~\n", []),
        ("/lgtm\n/assign @me", []),
        (None, []),
    ],
)
def test_parse_commands(body: str | None, parsed: list[tuple[str, tuple[str, ...]]]) -> None:
    assert [(i.name, i.args) for i in parse_commands(body)] == parsed


@pytest.mark.parametrize(
    ("body", "args", "error"),
    [
        ('/rollback "3"', ("3",), None),  # arguments are split like a shell does
        ("/modelgate retrain '--force'", ("--force",), None),
        ("/retrain --force\t--force", ("--force", "--force"), None),
        ('/rollback "3', ("\"3",), "could not read the arguments: No closing quotation"),
        ("/retrain 'x", ("'x",), "could not read the arguments: No closing quotation"),
    ],
)
def test_arguments_are_split_like_a_shell(body: str, args: tuple[str, ...], error: str | None) -> None:
    (line,) = parse_commands(body)
    assert (line.args, line.error) == (args, error)


def test_at_most_ten_commands_per_comment() -> None:
    assert len(parse_commands("/retrain\n" * 50)) == 10


@pytest.mark.parametrize(
    ("have", "need", "ok"),
    [("admin", "maintain", True), ("maintain", "maintain", True), ("write", "maintain", False),
     ("read", "none", True), ("none", "read", False), ("triage", "write", False), ("owner", "read", False)],
)
def test_permission_ranks(have: str, need: str, ok: bool) -> None:
    assert allows(have, need) is ok


def test_the_default_branch_overrides_a_commands_permission() -> None:
    strict = parse_config(CONFIG + "commands: {rollback: {permission: admin}}\n")
    assert required_permission(COMMANDS["rollback"], None) == "maintain"
    assert required_permission(COMMANDS["rollback"], strict) == "admin"
    assert required_permission(COMMANDS["retrain"], strict) == "write"
    table = help_table(strict)
    assert "| `/rollback [VERSION]` |" in table and "| admin permission or more |" in table
    assert "| anyone |" in table  # help
