"""The report's data (``reports.types.ReportData``, plain JSON-ready dicts) from a pipeline run.

Everything the renderer shows comes from here: the result (status, metrics, gates), the job's tags
(repository, sha, pr), the bootstrap intervals, the slice table, the plot data and the history of
the registered model. An error result gives the same keys with empty tables and no plot data.
``links`` are left None (the bot fills in URLs); ``outcome`` too (the bot knows about promotions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, cast

from pipelines.gates import delta
from pipelines.metrics import finite
from pipelines.result import PipelineResult

if TYPE_CHECKING:
    from reports.types import (
        ClassificationPlots,
        GateRow,
        HistoryPoint,
        MetricRow,
        RegressionPlots,
        ReportData,
    )

    from pipelines.bootstrap import MetricInterval
    from pipelines.slices import SliceRow

REPOSITORY_TAG, SHA_TAG, PR_TAG = "modelgate.repository", "modelgate.sha", "modelgate.pr"
GATE_KEYS = ("metric", "rule", "threshold", "candidate", "champion", "passed", "reason",
             "significant", "ci_low", "ci_high", "slice")
_GATE_DEFAULTS: dict[str, Any] = {"significant": False}


class JobFields(TypedDict):
    """The ReportData keys that come from the job's tags."""

    repository: str | None
    sha: str | None
    pr: int | None


def report_data(
    result: PipelineResult,
    tags: Mapping[str, str] | None = None,
    task: str | None = None,
    intervals: Mapping[str, MetricInterval] | None = None,
    slices: Sequence[SliceRow] = (),
    classification: ClassificationPlots | None = None,
    regression: RegressionPlots | None = None,
    history: Sequence[HistoryPoint] = (),
) -> ReportData:
    """The ReportData of a result; plot data, slices and history only for a result that is not an error."""
    tags = tags or {}
    failed = result.status == "error"
    return {
        "kind": result.kind,
        "status": result.status,
        "summary_line": result.summary_line(),
        "model_name": result.model_name,
        "task": task,
        **job_fields(tags),
        "champion_version": result.champion_version,
        "champion_error": result.champion_error,
        "cached_from": result.cached_from,
        "mlflow_run_id": result.mlflow_run_id,
        "error": result.error,
        "error_kind": result.error_kind,
        "log_tail": list(result.log_tail),
        "metrics": metric_rows(result, intervals or {}),
        "gates": gate_rows(result.gates),
        "slices": [] if failed else [row.as_dict() for row in slices],
        "classification": None if failed else classification,
        "regression": None if failed else regression,
        "history": [] if failed else list(history),
        "links": {"mlflow_run": None, "log": None, "commit": None, "full_report": None},
        "outcome": None,
        "environment": result.environment,
    }


def metric_rows(result: PipelineResult, intervals: Mapping[str, MetricInterval]) -> list[MetricRow]:
    """One row per candidate metric (configuration order): values, improvement and its 95% CI."""
    champion = result.champion_metrics or {}
    rows: list[MetricRow] = []
    for name, value in result.candidate_metrics.items():
        higher = result.higher_is_better.get(name, True)
        base = champion.get(name)
        interval = intervals.get(name)
        change = None
        if interval is not None:
            change = interval.delta
        elif base is not None and finite(value, base):
            change = delta(higher, value, base)
        rows.append({
            "name": name, "higher_is_better": higher, "candidate": value, "champion": base, "delta": change,
            "ci_low": None if interval is None else interval.ci_low,
            "ci_high": None if interval is None else interval.ci_high,
        })
    return rows


def gate_rows(gates: Sequence[Mapping[str, Any]]) -> list[GateRow]:
    """The result's gates with exactly the GateRow keys (results of older runs lack the newer ones)."""
    rows = [{key: gate.get(key, _GATE_DEFAULTS.get(key)) for key in GATE_KEYS} for gate in gates]
    return cast("list[GateRow]", rows)  # the gates' JSON values under exactly GateRow's keys


def job_fields(tags: Mapping[str, str]) -> JobFields:
    """repository, sha and pr (a number) from the job's tags; None where a tag is missing."""
    pr = tags.get(PR_TAG, "").strip()
    return {"repository": tags.get(REPOSITORY_TAG) or None, "sha": tags.get(SHA_TAG) or None,
            "pr": int(pr) if pr.isdigit() else None}
