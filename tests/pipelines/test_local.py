"""run_local for ``modelgate run``: exit codes, the --json shape and the terminal table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.local import cli_json, exit_code, run_local, terminal_gate_table
from pipelines.result import PipelineResult
from tests.fixtures.example_repo import WORSE_MODEL, write_model

pytestmark = pytest.mark.e2e


def test_a_passing_run_exits_0_and_writes_the_result_and_the_report(
    example_repo: Path, tracking_uri: str, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    result = run_local(example_repo, "staging", tracking_uri, output=output, use_cache=True)
    assert exit_code(result) == 0
    assert PipelineResult.from_json((output / "result.json").read_text()) == result
    assert {"report.md", "report.json", "roc.png"} <= set(result.report_files)
    assert {path.name for path in output.iterdir()} == {"result.json", *result.report_files}
    data = cli_json(result)
    assert list(data)[:4] == ["status", "metrics", "gates", "mlflow_run_id"]
    assert data["status"] == "passed" and data["mlflow_run_id"] == result.mlflow_run_id
    assert data["metrics"] == {"candidate": result.candidate_metrics, "champion": None}
    assert [list(gate) for gate in data["gates"]] == [
        ["metric", "rule", "threshold", "candidate", "champion", "passed"]
    ] * 2
    json.dumps(data)  # serialisable as is
    table = terminal_gate_table(result).splitlines()
    assert table[0].split() == ["metric", "rule", "threshold", "candidate", "champion", "result", "reason"]
    assert table[2].split()[:3] == ["accuracy", "min", "0.8500"] and "PASS" in table[2]


def test_failed_gates_exit_1(example_repo: Path, tracking_uri: str) -> None:
    write_model(example_repo, WORSE_MODEL)
    result = run_local(example_repo, "production", tracking_uri, output=None, use_cache=False)
    assert (result.status, exit_code(result)) == ("failed", 1)
    assert cli_json(result)["gates"][0]["passed"] is False
    assert "FAIL" in terminal_gate_table(result)


def test_an_error_exits_2(example_repo: Path, tracking_uri: str) -> None:
    (example_repo / ".modelgate.yml").write_text("model: {}\n")
    result = run_local(example_repo, "staging", tracking_uri, output=None, use_cache=True)
    assert (result.status, exit_code(result)) == ("error", 2)
    data = cli_json(result)
    assert data["status"] == "error" and data["gates"] == [] and data["mlflow_run_id"] is None
    assert data["metrics"] == {"candidate": {}, "champion": None}
    assert data["error_kind"] == "config"
    assert terminal_gate_table(result).startswith("error (config): .modelgate.yml: ")
