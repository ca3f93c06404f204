"""``modelgate run staging [PATH]``: a pipeline run in this process, for a developer's terminal or CI."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tabulate import tabulate

from pipelines.entry import RESULT_FILE, write_atomic
from pipelines.job_process import JobPolicy
from pipelines.result import PipelineResult
from pipelines.steps import run_pipeline

EXIT_CODES = {"passed": 0, "failed": 1, "error": 2}
_CLI_GATE_KEYS = ("metric", "rule", "threshold", "candidate", "champion", "passed")


def run_local(
    path: Path, kind: str, tracking_uri: str, output: Path | None = None, use_cache: bool = True,
    policy: JobPolicy | None = None,
) -> PipelineResult:
    """Run the ``kind`` pipeline of the checkout at ``path`` (its code in a job isolated as ``policy`` says).

    ``output`` is a directory: it receives the report (report.md, PNGs, report.json) and result.json.
    """
    tags = {"modelgate.trigger": "local", "modelgate.repository": "local"}
    result = run_pipeline(Path(path), kind, tracking_uri, tags=tags, use_cache=use_cache, output_dir=output,
                          policy=policy)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        write_atomic(output / RESULT_FILE, result.to_json())
    return result


def exit_code(result: PipelineResult) -> int:
    """0 passed, 1 gates failed, 2 error."""
    return EXIT_CODES.get(result.status, 2)


def cli_json(result: PipelineResult) -> dict[str, Any]:
    """The ``--json`` output: status, metrics, gates (without reasons), mlflow_run_id, then the rest."""
    head: dict[str, Any] = {
        "status": result.status,
        "metrics": {"candidate": result.candidate_metrics, "champion": result.champion_metrics},
        "gates": [{key: gate.get(key) for key in _CLI_GATE_KEYS} for gate in result.gates],
        "mlflow_run_id": result.mlflow_run_id,
    }
    return {**head, **{key: value for key, value in result.as_dict().items() if key not in head}}


def terminal_gate_table(result: PipelineResult) -> str:
    """The gates as a plain-text table for the terminal (or the error and its log tail)."""
    if result.status == "error":
        lines = [f"error ({result.error_kind}): {result.error}", *result.log_tail]
        return "\n".join(lines)
    if not result.gates:
        return "no gates configured for this pipeline"
    rows = [
        [gate["metric"], gate["rule"], _number(gate["threshold"]), _number(gate.get("candidate")),
         _number(gate.get("champion")), "PASS" if gate["passed"] else "FAIL", gate.get("reason", "")]
        for gate in result.gates
    ]
    headers = ["metric", "rule", "threshold", "candidate", "champion", "result", "reason"]
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return "nan" if math.isnan(value) else f"{value:.4f}"
