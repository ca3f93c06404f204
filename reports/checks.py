"""Check-run text for a pipeline result: title, summary (verdict + gates) and details.

Pure rendering: a result as a plain dict in (``PipelineResult.as_dict()`` shape), markdown out.
The cell and sentence helpers here are shared with the full report (``reports.markdown``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

from reports.fit import clip

LOG_LINES = 50
CHECK_TEXT_LIMIT = 65_535  # GitHub's maxLength for output.summary and output.text
PASS, FAIL = "✅", "❌"
_MARKDOWN = re.compile(r"[\\`*\[\]<|~#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def fmt(value: float | None, digits: int = 3) -> str:
    """A metric value for tables: fixed digits, ``—`` for missing, ``nan`` for NaN."""
    if value is None:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.{digits}f}"


def fmt_delta(value: float | None, digits: int = 3) -> str:
    """A signed change, e.g. ``+0.012`` (``+0.000`` for tiny negatives), ``—`` for missing."""
    if value is None or math.isnan(value):
        return fmt(value)
    shown = f"{value:+.{digits}f}"
    return "+" + shown[1:] if float(shown) == 0 else shown


def fmt_ci(low: float | None, high: float | None) -> str:
    """A confidence interval, e.g. ``[-0.004, +0.021]``, or ``—`` when either bound is missing."""
    if low is None or high is None:
        return "—"
    return f"[{fmt_delta(low)}, {fmt_delta(high)}]"


def escape(text: str) -> str:
    """Escape characters that would break a markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def plain(text: str) -> str:
    """Text shown literally: on one line, with markdown and table characters backslash-escaped."""
    return _MARKDOWN.sub(lambda match: "\\" + match.group(), " ".join(text.splitlines()))


def code(text: str) -> str:
    """``text`` as an inline code span on one line (not for table cells: ``|`` stays as is)."""
    text = " ".join(text.splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def condition(rule: str, threshold: float, significant: bool = False) -> str:
    """A gate's condition in symbols, e.g. ``≥ 0.85`` or ``Δ ≥ -0.02`` (Δ = improvement)."""
    match rule:
        case "min":
            text = f"≥ {threshold:g}"
        case "max":
            text = f"≤ {threshold:g}"
        case "max_regression":
            text = f"Δ ≥ {-threshold + 0.0:g}"  # + 0.0: no regression allowed shows as 0, not -0
        case "must_beat":
            text = "Δ > 0" if threshold == 0 else f"Δ ≥ {threshold:g}"
        case "max_slice_regression":
            text = f"every slice Δ ≥ {-threshold + 0.0:g}"
        case _:
            text = f"{rule} {threshold:g}"
    return text + (" (significant)" if significant else "")


def gate_result(gate: Mapping[str, Any]) -> str:
    """✅/❌, the reason, and for significance or slice gates the CI bound or the worst slice."""
    parts = [plain(str(gate.get("reason") or ""))]
    low, high = gate.get("ci_low"), gate.get("ci_high")
    if gate.get("significant") and low is not None:
        parts.append(f"judged on the lower bound {fmt_delta(low)} of the 95% CI {fmt_ci(low, high)}")
    if gate.get("slice"):
        parts.append(f"worst slice: {plain(str(gate['slice']))}")
    return (PASS if gate["passed"] else FAIL) + " " + "; ".join(part for part in parts if part)


def gate_table(gates: Sequence[Mapping[str, Any]]) -> str:
    """The gates as a markdown table: gate, condition, candidate, champion, result."""
    if not gates:
        return "_No gates are configured for this pipeline._"
    rows = [
        [
            plain(f"{gate['metric']} {gate['rule']}"),
            condition(gate["rule"], gate["threshold"], bool(gate.get("significant"))),
            fmt(gate.get("candidate")),
            fmt(gate.get("champion")),
            gate_result(gate),
        ]
        for gate in gates
    ]
    return table(rows, ["gate", "condition", "candidate", "champion", "result"], "llrrl")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], align: str) -> str:
    """A GitHub (pipe) table of preformatted cells; ``align`` has one of l/r/c per column."""
    names = {"l": "left", "r": "right", "c": "center"}
    return str(tabulate(rows, headers=list(headers), tablefmt="pipe", disable_numparse=True,
                        colalign=[names[a] for a in align]))


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
        rows.append([plain(name), fmt(value), fmt(old), fmt_delta(change)])
    return table(rows, ["metric", "candidate", "champion", "Δ (better +)"], "lrrr")


def champion_note(version: int | None, error: str | None) -> str:
    """How the candidate was judged: against which champion, or by absolute gates alone."""
    if version is not None and not error:
        return f"Compared with the champion, version {version}, on the same evaluation rows."
    if error:
        return (f"The champion could not be used ({plain(error)}): "
                "the candidate was judged by absolute gates alone.")
    return "No champion yet: the candidate was judged by absolute gates alone."


def cached_note(run_id: str) -> str:
    """The result was reused from an earlier MLflow run."""
    return (f"Reused the result of MLflow run {code(run_id)}: same code, data, "
            "configuration and champion, so nothing was retrained.")


def error_text(kind: str, error_kind: str | None, error: str | None) -> str:
    """One sentence: which pipeline stopped, at which step, and the error."""
    return f"The {kind} pipeline stopped ({error_kind or 'error'}): {plain(error or 'unknown error')}"


def log_block(lines: Sequence[str], count: int = LOG_LINES) -> str:
    """The last ``count`` log lines as a fenced block, introduced by one line ("" without lines)."""
    tail = list(lines)[-count:] if count > 0 else []
    if not tail:
        return ""
    body = "\n".join(tail)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)  # a log line with ``` cannot close the block
    return f"Last {len(tail)} log lines:\n\n{fence}text\n{body}\n{fence}"


def check_title(result: Mapping[str, Any], description: str) -> str:
    """The check run's title: the verdict in a few words."""
    status = result.get("status")
    if status == "passed":
        return f"Gates passed: {description}"
    if status == "failed":
        return f"Gates failed: {description}"
    return f"Pipeline error: {result.get('error') or 'unknown error'}"[:200]


def check_summary(result: Mapping[str, Any], description: str, steps: str = "") -> str:
    """The check run summary: verdict, provenance, metrics and every gate (or the error), then the
    ``steps`` table when given (``reports.steps``: each step's state and time)."""
    parts = [f"**{check_title(result, description)}**"]
    timings = ["### Steps", steps] if steps else []
    if result.get("status") == "error":
        parts.append(error_text(result.get("kind", "staging"), result.get("error_kind"), result.get("error")))
        parts += timings
        parts.append(log_block(result.get("log_tail") or []))
        return clip("\n\n".join(part for part in parts if part), CHECK_TEXT_LIMIT)
    parts.append(champion_note(result.get("champion_version"), result.get("champion_error")))
    if result.get("cached_from"):
        parts.append(cached_note(result["cached_from"]))
    parts += ["### Metrics", metric_table(result), "### Gates", gate_table(result.get("gates") or [])]
    parts += timings
    if result.get("mlflow_run_id"):
        parts.append(f"MLflow run: {code(result['mlflow_run_id'])}")
    return clip("\n\n".join(parts), CHECK_TEXT_LIMIT)
