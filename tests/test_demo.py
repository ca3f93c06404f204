"""``modelgate demo`` runs offline and says, as its last line, how every scenario ended."""

import json

import pytest

from bot.demo import run_demo


def test_demo_ends_as_designed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(json_output=True) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary["ok"] is True
    outcomes = [(s["staging"], s["merge"]) for s in summary["scenarios"]]
    assert outcomes == [("passed", "merged"), ("failed", "blocked")]
