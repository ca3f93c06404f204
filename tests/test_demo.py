"""``modelgate demo`` runs offline and says, as its last line, how every scenario ended."""

import json

import pytest

from github_standin.demo import run_demo

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)  # three PRs through staging and production, with real training
def test_demo_ends_as_designed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(json_output=True) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary["ok"] is True
    outcomes = [(s["staging"], s["merge"], s["production"], s["model_version"]) for s in summary["scenarios"]]
    assert outcomes == [("passed", "merged", "promoted", 1), ("failed", "blocked", "skipped", None),
                        ("passed", "merged", "rejected", None)]
    assert set(summary) >= {"scenarios", "report_dir"}
