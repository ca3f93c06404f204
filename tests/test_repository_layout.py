"""The layout rules a newcomer relies on: what sits at the top of bot/, that every folder says
what question it answers, and that tests carry their own data and share helpers only through
tests/fixtures/."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.fixtures.corpus import GITHUB

ROOT = Path(__file__).resolve().parents[1]
# logs.py and metrics.py serve every flow
BOT_TOP_LEVEL = {"__init__.py", "cli.py", "server.py", "settings.py", "metrics.py", "logs.py"}


def test_bot_top_level_holds_only_the_entry_points_and_folders_by_flow() -> None:
    modules = {p.name for p in (ROOT / "bot").glob("*.py")}
    folders = {p.name for p in (ROOT / "bot").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules == BOT_TOP_LEVEL
    assert folders == {"webhooks", "store", "runs", "feedback", "github", "commands", "deployments",
                       "install", "schedules", "dashboard", "processes"}


def test_every_package_says_what_it_is_for() -> None:
    packages = [p for top in ("bot", "pipelines", "reports", "github_standin")
                for p in (ROOT / top).rglob("__init__.py") if "examples" not in p.parts]
    undocumented = [str(p.relative_to(ROOT)) for p in packages
                    if not ast.get_docstring(ast.parse(p.read_text()))]
    assert packages and undocumented == []


def test_test_modules_share_helpers_only_through_fixtures() -> None:
    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offenders += [f"{path.relative_to(ROOT)}: {name}" for name in names
                          if name.startswith("tests.") and not name.startswith("tests.fixtures")]
    assert offenders == []


def test_the_github_corpus_lives_in_the_repository() -> None:
    assert GITHUB.is_relative_to(ROOT) and (GITHUB / "webhooks" / "signatures.json").is_file()
    assert (GITHUB / "rest-subset.openapi.json").is_file()
