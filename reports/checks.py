"""Check-run text for a pipeline result: title, summary (verdict + gates) and details.

Pure rendering: a result as a plain dict in (``PipelineResult.as_dict()`` shape), markdown out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

LOG_LINES = 50
CHECK_TEXT_LIMIT = 65_535  # GitHub's maxLength for output.summary and output.text


def fmt(value: float | None, digits: int = 3) -> str:
    """A metric value for tables: fixed digits, ``—`` for missing, ``nan`` for NaN."""
    if value is None:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.{digits}f}"


def escape(text: str) -> str:
    """Escape characters that would break a markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def gate_table(gates: Sequence[Mapping[str, Any]]) -> str:
    """The gates as a markdown table: gate, threshold, candidate, champion, result."""
    if not gates:
        return "_No gates are configured for this pipeline._"
    rows = [
        [
            escape(f"{gate['metric']} {gate['rule']}"),
            fmt(gate["threshold"]),
            fmt(gate.get("candidate")),
            fmt(gate.get("champion")),
            ("✅ " if gate["passed"] else "❌ ") + escape(str(gate.get("reason", ""))),
        ]
        for gate in gates
    ]
    return tabulate(rows, headers=["gate", "threshold", "candidate", "champion", "result"],
                    tablefmt="pipe", disable_numparse=True)


def metric_table(result: Mapping[str, Any]) -> str:
    """Candidate vs champion metrics with the signed improvement (positive = better)."""
    metrics = result.get("metrics") or {}
    candidate: Mapping[str, float] = metrics.get("candidate") or {}
    champion: Mapping[str, float] | None = metrics.get("champion")
    directions: Mapping[str, bool] = result.get("higher_is_better") or {}
    rows = []
    for name, value in candidate.items():
        old = champion.get(name) if champion else None
        change = None
        if old is not None:
            change = value - old if directions.get(name, True) else old - value
        shown = "—" if change is None else f"{change:+.3f}"
        rows.append([escape(name), fmt(value), fmt(old), shown])
    return tabulate(rows, headers=["metric", "candidate", "champion", "Δ (better +)"],
                    tablefmt="pipe", disable_numparse=True)


def check_title(result: Mapping[str, Any], description: str) -> str:
    """The check run's title: the verdict in a few words."""
    status = result.get("status")
    if status == "passed":
        return f"Gates passed: {description}"
    if status == "failed":
        return f"Gates failed: {description}"
    return f"Pipeline error: {result.get('error') or 'unknown error'}"[:200]


def check_summary(result: Mapping[str, Any], description: str) -> str:
    """The check run summary: verdict, provenance, metrics and every gate (or the error)."""
    parts = [f"**{check_title(result, description)}**"]
    version = result.get("champion_version")
    if result.get("status") == "error":
        kind = result.get("error_kind") or "error"
        parts.append(f"The {result.get('kind', 'staging')} pipeline stopped ({kind}): "
                     f"{escape(str(result.get('error') or ''))}")
        tail = result.get("log_tail") or []
        if tail:
            lines = "\n".join(tail[-LOG_LINES:])
            parts.append(f"Last {min(len(tail), LOG_LINES)} log lines:\n\n```\n{lines}\n```")
        return _fit("\n\n".join(parts))
    if version is None:
        parts.append("No champion yet: the candidate was judged by absolute gates alone.")
    else:
        parts.append(f"Compared with the champion, version {version}, on the same evaluation rows.")
    if result.get("cached_from"):
        parts.append(f"Reused the result of MLflow run `{result['cached_from']}`: same code, data, "
                     "configuration and champion, so nothing was retrained.")
    parts += ["### Metrics", metric_table(result), "### Gates", gate_table(result.get("gates") or [])]
    if result.get("mlflow_run_id"):
        parts.append(f"MLflow run: `{result['mlflow_run_id']}`")
    return _fit("\n\n".join(parts))


def _fit(text: str) -> str:
    if len(text) <= CHECK_TEXT_LIMIT:
        return text
    note = "\n\n… (truncated to GitHub's 65,535-character limit)"
    return text[: CHECK_TEXT_LIMIT - len(note)] + note
