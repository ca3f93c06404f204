"""Every bot-written message: golden files per case (tests/fixtures/message_cases.py), every
message function has one, and the layering (bot/feedback imports neither bot/runs nor bot/commands)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.feedback import check_report, check_run, messages
from bot.github.api import STATUS_DESCRIPTION_MAX
from tests.fixtures.golden import assert_golden
from tests.fixtures.message_cases import CASES, COMMAND, GOLDEN, golden_path, message_functions, render_case

ROOT = Path(__file__).resolve().parents[2]
FEEDBACK = ROOT / "bot" / "feedback"


@pytest.mark.parametrize("case", sorted(CASES))
def test_message_matches_the_golden_file(case: str) -> None:
    assert_golden(f"the {case!r} message", render_case(case), golden_path(case), COMMAND)


def test_every_message_function_has_a_golden_case() -> None:
    covered = {case.function for case in CASES.values()}
    missing = sorted(name for name, function in message_functions().items() if function not in covered)
    assert not missing, f"add a case to tests/fixtures/message_cases.py, then run {COMMAND}: {missing}"


def test_cases_are_named_after_their_function() -> None:
    for name, case in CASES.items():
        assert name.split("-")[0] == case.function.__name__, name


def test_every_golden_file_has_a_case() -> None:
    stale = sorted(p.name for p in GOLDEN.glob("*.md") if p.stem not in CASES)
    assert not stale, f"golden files without a case (remove them, or run {COMMAND}): {stale}"


def test_every_message_function_says_what_it_is() -> None:
    for name, function in message_functions().items():
        doc = (function.__doc__ or "").strip()
        assert doc, f"{name} has no docstring"


def test_feedback_imports_neither_runs_nor_commands() -> None:
    for path in sorted(FEEDBACK.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("bot.runs", "bot.commands")), f"{path.name} imports {name}"


def test_status_descriptions_and_titles_fit_githubs_limits() -> None:
    for name in sorted(CASES):
        message = CASES[name].call()
        if isinstance(message, check_report.CheckReport):
            assert len(message.description) <= STATUS_DESCRIPTION_MAX, name  # else cut with …
            assert len(message.title) <= check_run.TITLE_LIMIT, name
        elif CASES[name].function in (messages.staging_in_progress, messages.production_in_progress,
                                      messages.queued_description):
            assert len(message) <= STATUS_DESCRIPTION_MAX, name
