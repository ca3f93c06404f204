"""The report's figures, built with matplotlib's object API only (``Figure`` + Agg, no pyplot).

Each ``*_figure`` function returns a :class:`~matplotlib.figure.Figure` (tests inspect its
artists); :func:`png_bytes` encodes one deterministically: fixed size and dpi, no metadata.
Sizes are fixed per plot (the confusion matrix widens with the champion's panel, the deltas
plot grows with the number of metrics).
Colours are Okabe–Ito (colour-blind safe); candidate and champion also differ in line and marker.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from reports.checks import fmt, fmt_delta
from reports.plots import compared
from reports.types import (
    ClassificationPlots,
    Curve,
    CurvePair,
    HistoryPoint,
    MetricRow,
    RegressionPlots,
    ReportData,
)

DPI = 100
CANDIDATE, CHAMPION = "#0072B2", "#E69F00"  # Okabe–Ito blue, orange
WORSE, NEUTRAL = "#D55E00", "#7F7F7F"  # vermillion, grey
MAX_POINTS = 2_000  # scatter points per model (evenly spaced rows beyond that)
MAX_DELTAS, MAX_HISTORY_PANELS, MAX_VERSIONS = 20, 3, 20
_Where = Literal["best", "upper left", "lower left", "lower right"]


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes: drawn by Agg at its own size and dpi, quantised to 256 colours
    (2-3x smaller, deterministic), with no metadata at all (no software name, no date)."""
    canvas = FigureCanvasAgg(fig)
    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=DPI)
    image = Image.frombytes("RGBA", canvas.get_width_height(), raw.getvalue()).convert("RGB")
    palette = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    return buffer.getvalue()


def build_figure(name: str, data: ReportData) -> Figure:
    """The figure called ``name`` (one of ``reports.plots.PLOTS``) for ``data``."""
    classification, regression = data["classification"], data["regression"]
    if name == "confusion" and classification:
        return confusion_figure(classification, data["champion_version"])
    if name in ("roc", "pr") and classification:
        pair = classification["roc"] if name == "roc" else classification["pr"]
        if pair is not None:
            return curve_figure(pair, name, len(classification["labels"]))
    if name == "predicted_vs_actual" and regression:
        return predicted_figure(regression)
    if name == "residuals" and regression:
        return residuals_figure(regression)
    if name == "deltas":
        return deltas_figure(data["metrics"], data["champion_version"])
    if name == "history":
        return history_figure(data["history"], data["metrics"])
    raise ValueError(f"plot {name!r} does not apply to this report")


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _dress(ax: Axes, title: str, xlabel: str = "", ylabel: str = "", *, size: int = 11,
           grid: Literal["x", "y", "both"] | None = "both", legend: _Where | None = None) -> None:
    """Title, axis labels, a light grid (None for none) and a legend at ``legend`` (None for none)."""
    ax.set_title(title, fontsize=size)
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    if grid:
        ax.grid(axis=grid, alpha=0.3)
    if legend:
        ax.legend(loc=legend, fontsize=9)


def _champion_name(version: int | None) -> str:
    return "Champion" if version is None else f"Champion (v{version})"


def _short(label: str, width: int = 14) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def confusion_figure(plots: ClassificationPlots, champion_version: int | None = None) -> Figure:
    """Candidate (and champion) confusion matrices side by side, counts in the cells.

    Cells are shaded by the share of their actual class (row), so imbalanced classes read alike.
    """
    panels = [("Candidate", plots["confusion_candidate"])]
    if plots["confusion_champion"] is not None:
        panels.append((_champion_name(champion_version), plots["confusion_champion"]))
    fig = _figure(4.6 * len(panels), 4.4)
    for ax, (title, counts) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        _confusion_axes(ax, title, np.asarray(counts, dtype=int), plots["labels"])
    fig.suptitle("Confusion matrix (rows: actual, columns: predicted)", fontsize=11)
    return fig


def _confusion_axes(ax: Axes, title: str, counts: np.ndarray, labels: Sequence[str]) -> None:
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    size = 11 if len(labels) <= 6 else 8 if len(labels) <= 12 else 6
    if len(labels) <= 25:
        for (row, col), count in np.ndenumerate(counts):
            ax.text(col, row, str(count), ha="center", va="center", fontsize=size,
                    color="white" if shares[row, col] > 0.5 else "black")
    ticks = range(len(labels))
    names = [_short(label) for label in labels]
    ax.set_xticks(ticks, names, fontsize=9, rotation=45 if len(labels) > 4 else 0, ha="right"
                  if len(labels) > 4 else "center")
    ax.set_yticks(ticks, names, fontsize=9)
    correct, total = int(np.trace(counts)), int(counts.sum())
    share = f" ({correct / total:.1%})" if total else ""
    _dress(ax, f"{title}: {correct}/{total} correct{share}", "Predicted", "Actual", size=10, grid=None)


def curve_figure(pair: CurvePair, kind: str, classes: int = 2) -> Figure:
    """ROC (``kind="roc"``) or precision-recall (``"pr"``) curves overlaid, AUC in the legend."""
    fig = _figure(5.0, 4.6)
    ax = fig.add_subplot()
    roc = kind == "roc"
    if roc:
        ax.plot([0, 1], [0, 1], linestyle=":", color=NEUTRAL, linewidth=1, label="Chance")
    lines: list[tuple[str, Curve | None, str, str]] = [
        ("Candidate", pair["candidate"], CANDIDATE, "-"), ("Champion", pair["champion"], CHAMPION, "--")]
    for name, curve, colour, style in lines:
        if curve is None:
            continue
        label = name if curve["auc"] is None else f"{name} (AUC {fmt(curve['auc'])})"
        ax.plot(curve["x"], curve["y"], color=colour, linestyle=style, linewidth=2, label=label,
                drawstyle="default" if roc else "steps-post")
    scope = f"micro-average of {classes} classes" if classes > 2 else "positive class"
    if roc:
        _dress(ax, f"ROC curve ({scope})", "False positive rate", "True positive rate", legend="lower right")
    else:
        _dress(ax, f"Precision-recall curve ({scope})", "Recall", "Precision", legend="lower left")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    return fig


def _models(plots: RegressionPlots) -> list[tuple[str, np.ndarray, str, str]]:
    """(name, predictions, colour, marker) per model, sharing the rows of ``_rows``."""
    models = [("Candidate", np.asarray(plots["candidate"], dtype=float), CANDIDATE, "o")]
    if plots["champion"] is not None:
        models.append(("Champion", np.asarray(plots["champion"], dtype=float), CHAMPION, "^"))
    return models


def _rows(count: int) -> tuple[np.ndarray, str]:
    """Indices of the rows to scatter (evenly spaced beyond MAX_POINTS) and a title suffix."""
    if count <= MAX_POINTS:
        return np.arange(count), ""
    return np.linspace(0, count - 1, MAX_POINTS).round().astype(int), f" ({MAX_POINTS:,} of {count:,} rows)"


def predicted_figure(plots: RegressionPlots) -> Figure:
    """Predicted against actual values for both models, with the y = x line of perfect predictions."""
    actual = np.asarray(plots["y_true"], dtype=float)
    rows, note = _rows(len(actual))
    fig = _figure(5.4, 5.0)
    ax = fig.add_subplot()
    values = [actual]
    for name, predicted, colour, marker in _models(plots):
        values.append(predicted)
        ax.scatter(actual[rows], predicted[rows], s=14, alpha=0.6, color=colour, marker=marker,
                   linewidths=0, label=name)
    low, high = _span(np.concatenate(values))
    ax.plot([low, high], [low, high], linestyle="--", color=NEUTRAL, linewidth=1, label="Perfect (y = x)")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    _dress(ax, f"Predicted vs actual{note}", "Actual", "Predicted", legend="upper left")
    return fig


def _span(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    margin = (high - low) * 0.05 or 0.5
    return low - margin, high + margin


def residuals_figure(plots: RegressionPlots) -> Figure:
    """Residuals (predicted − actual): against the prediction, and their distribution."""
    actual = np.asarray(plots["y_true"], dtype=float)
    rows, note = _rows(len(actual))
    models = _models(plots)
    fig = _figure(9.6, 4.0)
    scatter, histogram = fig.subplots(1, 2)
    residuals = [predicted - actual for _, predicted, _, _ in models]
    finite = np.concatenate(residuals)
    finite = finite[np.isfinite(finite)]
    edges = np.histogram_bin_edges(finite, bins=min(30, max(8, round(math.sqrt(len(finite))))))
    for (name, predicted, colour, marker), residual in zip(models, residuals, strict=True):
        scatter.scatter(predicted[rows], residual[rows], s=14, alpha=0.6, color=colour, marker=marker,
                        linewidths=0, label=name)
        histogram.hist(residual[np.isfinite(residual)], bins=edges, histtype="stepfilled", alpha=0.35,
                       color=colour, edgecolor=colour, linewidth=2,
                       linestyle="-" if name == "Candidate" else "--", label=name)
    residual_label = "Residual (predicted − actual)"
    _dress(scatter, f"Residual vs predicted{note}", "Predicted", residual_label, legend="best")
    _dress(histogram, "Distribution of residuals", residual_label, "Rows", legend="best")
    scatter.axhline(0, color=NEUTRAL, linestyle="--", linewidth=1)
    histogram.axvline(0, color=NEUTRAL, linestyle="--", linewidth=1)
    return fig


def deltas_figure(metrics: Sequence[MetricRow], champion_version: int | None = None) -> Figure:
    """Each metric's improvement over the champion with its 95% CI; right of the zero line = better."""
    rows = compared(metrics)[:MAX_DELTAS]
    fig = _figure(6.4, 1.5 + 0.4 * len(rows))
    ax = fig.add_subplot()
    for y, row in enumerate(rows):
        change = float(row["delta"] or 0.0)
        colour, marker = (CANDIDATE, "o") if change >= 0 else (WORSE, "s")
        low, high = row["ci_low"], row["ci_high"]
        errors = None
        if low is not None and high is not None:
            errors = [[max(change - low, 0.0)], [max(high - change, 0.0)]]
        ax.errorbar([change], [y], xerr=errors, fmt=marker, color=colour, capsize=4, markersize=7)
        ax.annotate(fmt_delta(change), (change if high is None else max(high, change), y), xytext=(6, 0),
                    textcoords="offset points", ha="left", va="center", fontsize=9, color=colour)
    ax.axvline(0, color=NEUTRAL, linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [_short(row["name"], 18) for row in rows], fontsize=9)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first metric on top
    ax.margins(x=0.2)
    _dress(ax, f"Change vs {_champion_name(champion_version).lower()}, 95% CI",
           "Δ vs champion (+ = candidate better)", grid="x")
    return fig


def history_figure(history: Sequence[HistoryPoint], metrics: Sequence[MetricRow] = ()) -> Figure:
    """Each promoted version's value per metric (one panel each, up to three), this candidate last."""
    order = [row["name"] for row in metrics]
    names = sorted({point["metric"] for point in history},
                   key=lambda name: (order.index(name) if name in order else len(order), name))
    names = names[:MAX_HISTORY_PANELS]
    candidate = {row["name"]: row["candidate"] for row in metrics}
    lower = {row["name"] for row in metrics if not row["higher_is_better"]}
    fig = _figure(8.0, 3.6)
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        points = sorted((p for p in history if p["metric"] == name), key=lambda p: p["version"])
        title = _short(name, 30) + (" (lower is better)" if name in lower else "")
        _history_axes(ax, title, points[-MAX_VERSIONS:], candidate.get(name))
    fig.suptitle("Promoted versions over time", fontsize=11)
    return fig


def _history_axes(ax: Axes, title: str, points: Sequence[HistoryPoint], candidate: float | None) -> None:
    positions = list(range(len(points)))
    ax.plot(positions, [p["value"] for p in points], color=CHAMPION, marker="o", linewidth=2,
            label="Promoted")
    ticks = [f"v{p['version']}\n{_day(p['when'])}" for p in points]
    if candidate is not None and not math.isnan(candidate):
        ax.plot([len(points)], [candidate], color=CANDIDATE, marker="*", markersize=13, linestyle="none",
                label="This candidate")
        positions.append(len(points))
        ticks.append("candidate")
    step = max(1, math.ceil(len(positions) / 6))
    shown = positions[::-1][::step][::-1]  # always label the last position
    ax.set_xticks(shown, [ticks[i] for i in shown], fontsize=8)
    ax.set_xlim(-0.5, len(positions) - 0.5)
    _dress(ax, title, "", "Value", size=10, legend="best")


def _day(when: str) -> str:
    """``2026-10-01T09:30:00Z`` → ``Oct 1 '26`` (the text itself when it is not ISO 8601)."""
    try:
        day = datetime.fromisoformat(when)
    except ValueError:
        return when[:10]
    return f"{day:%b} {day.day} '{day:%y}"
