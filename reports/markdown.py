"""The full report as GitHub markdown: verdict, metrics, gates, slices, error, plots and links.

Every value is formatted here (fixed digits, ``—`` for missing) and every free text escaped, so
the same data always gives the same text. Over ``limit`` characters, detail is shortened by
``reports.fit``: slice rows first, then the metric table's detail, the log lines, the plots.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from reports.checks import (
    FAIL,
    LOG_LINES,
    PASS,
    cached_note,
    champion_note,
    code,
    condition,
    error_text,
    fmt,
    fmt_ci,
    fmt_delta,
    gate_table,
    log_block,
    plain,
    table,
)
from reports.fit import Section, fit
from reports.plots import PLOTS
from reports.types import GateRow, Links, MetricRow, ReportData, SliceRow

COMMENT_LIMIT = 65_536  # GitHub's limit on an issue or PR comment body, in characters
VERDICTS = {"passed": (PASS, "passed"), "failed": (FAIL, "failed"), "error": ("⚠️", "stopped with an error")}
SLICE_STEPS = (100, 50, 20, 10, 5)  # slice rows kept when shortening, tried in order
LOG_STEPS = (20, 10, 5)
SHORT_SHA = 7
_URL_CHARS = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}


def render_markdown(data: ReportData, image_base: str = "", images: Sequence[str] = (),
                    limit: int = COMMENT_LIMIT) -> str:
    """The report, at most ``limit`` characters; ``images`` are linked as ``{image_base}{name}.png``."""
    sections = [Section(_head(data))]
    if data["status"] == "error":
        sections += _error_sections(data)
    else:
        sections += [
            _metrics_section(data["metrics"], data["gates"]),
            Section("### Gates\n\n" + gate_table(data["gates"])),
            _slices_section(data["slices"]),
            _plots_section(image_base, images),
        ]
    sections.append(Section(_links(data)))
    full = data["links"]["full_report"]
    return fit([s for s in sections if s.text], limit, f"[the full report]({_url(full)})" if full else "")


def _head(data: ReportData) -> str:
    icon, word = VERDICTS.get(data["status"], ("❔", data["status"]))
    title = f"## {icon} {data['kind'].capitalize()} {word}"
    if data["model_name"]:
        title += f": {plain(data['model_name'])}"
    lines = [title, f"**{plain(data['summary_line'])}**"]
    if data["outcome"]:
        lines.append(f"**Outcome:** {plain(data['outcome'])}")
    context = [code(data["repository"]) if data["repository"] else "",
               f"PR #{data['pr']}" if data["pr"] is not None else "",
               f"commit {code(data['sha'][:SHORT_SHA])}" if data["sha"] else "",
               plain(f"{data['task']} model") if data["task"] else ""]
    lines.append(" · ".join(part for part in context if part))
    if data["status"] != "error":
        lines.append(champion_note(data["champion_version"], data["champion_error"]))
    if data["cached_from"]:
        lines.append(f"♻️ {cached_note(data['cached_from'])}")
    if data.get("environment"):
        lines.append(f"**Environment:** {plain(str(data.get('environment')))}")
    return "\n\n".join(line for line in lines if line)


def _error_sections(data: ReportData) -> list[Section]:
    error = error_text(data["kind"], data["error_kind"], data["error"])
    tail = data["log_tail"]

    def fewer_lines() -> Iterator[str]:
        yield from (log_block(tail, count) for count in LOG_STEPS if count < min(len(tail), LOG_LINES))
        yield ""

    return [Section(f"### Error\n\n{error}"),
            Section(log_block(tail), "log lines", rank=3, shorter=fewer_lines)]


def _metrics_section(metrics: Sequence[MetricRow], gates: Sequence[GateRow]) -> Section:
    if not metrics:
        return Section("")
    by_metric: dict[str, list[GateRow]] = {}
    for gate in gates:
        by_metric.setdefault(gate["metric"], []).append(gate)
    rows = []
    for row in metrics:
        own = by_metric.get(row["name"], [])
        rule = "; ".join(condition(g["rule"], g["threshold"], g["significant"]) for g in own) or "—"
        result = (PASS if all(g["passed"] for g in own) else FAIL) if own else "—"
        rows.append([_metric_name(row), fmt(row["candidate"]), fmt(row["champion"]),
                     fmt_delta(row["delta"]), fmt_ci(row["ci_low"], row["ci_high"]), rule, result])
    headers = ["metric", "candidate", "champion", "Δ", "95% CI of Δ", "gate", "result"]
    legend = "Δ is the candidate's improvement over the champion: positive means better"
    if any(not row["higher_is_better"] for row in metrics):
        legend += " (for ↓ metrics, lower values are better)"
    full = f"### Metrics\n\n{table(rows, headers, 'lrrrclc')}\n\n{legend}."

    def compact() -> Iterator[str]:
        yield f"### Metrics\n\n{table([r[:4] for r in rows], headers[:4], 'lrrr')}\n\n{legend}."
        yield ""

    return Section(full, "metric details", rank=2, shorter=compact)


def _metric_name(row: MetricRow) -> str:
    return plain(row["name"]) + ("" if row["higher_is_better"] else " ↓")


def _slices_section(slices: Sequence[SliceRow]) -> Section:
    if not slices:
        return Section("")
    worst = sorted(slices, key=lambda s: (s["delta"] is None, s["delta"] or 0.0, s["slice"], s["value"],
                                          s["metric"]))

    def text(count: int) -> str:
        shown = worst[:count]
        rows = [[plain(s["slice"]), plain(s["value"]), f"{s['rows']:,}", plain(s["metric"]),
                 fmt(s["candidate"]), fmt(s["champion"]), fmt_delta(s["delta"])] for s in shown]
        if len(shown) < len(worst):
            intro = f"The {len(shown):,} largest regressions of {len(worst):,} slice rows:"
        else:
            intro = f"{len(worst):,} slice rows, largest regressions first:"
        headers = ["slice", "value", "rows", "metric", "candidate", "champion", "Δ"]
        return f"### Slices\n\n{intro}\n\n{table(rows, headers, 'llrlrrr')}"

    def fewer_rows() -> Iterator[str]:
        yield from (text(count) for count in SLICE_STEPS if count < len(worst))
        yield ""

    return Section(text(len(worst)), "slice rows", rank=1, shorter=fewer_rows)


def _plots_section(image_base: str, images: Sequence[str]) -> Section:
    if not images:
        return Section("")
    lines = [f"![{PLOTS.get(name, name)}]({image_base}{name}.png)" for name in images]
    return Section("### Plots\n\n" + "\n".join(lines), "plots", rank=4, shorter=lambda: ("",))


def _links(data: ReportData) -> str:
    links: Links = data["links"]
    sha = data["sha"][:SHORT_SHA] if data["sha"] else ""
    parts = [
        _link("MLflow run", links["mlflow_run"]) if links["mlflow_run"]
        else f"MLflow run {code(data['mlflow_run_id'])}" if data["mlflow_run_id"] else "",
        _link("full log", links["log"]),
        _link(f"commit {sha}".strip(), links["commit"]),
        _link("full report", links["full_report"]),
    ]
    shown = " · ".join(part for part in parts if part)
    return f"---\n\n{shown}" if shown else ""


def _link(label: str, url: str | None) -> str:
    return f"[{label}]({_url(url)})" if url else ""


def _url(url: str | None) -> str:
    """A URL safe inside ``(...)``: spaces, parentheses and angle brackets percent-encoded."""
    return "".join(_URL_CHARS.get(char, char) for char in url or "")
