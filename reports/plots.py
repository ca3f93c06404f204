"""Which plots a report has, and their PNG bytes.

This module stays light: matplotlib is imported (through ``reports.figures``) only when
plots are rendered, so the webhook process can import the markdown renderer cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reports.types import MetricRow, ReportData

PLOTS: dict[str, str] = {  # name -> alt text, in report order
    "confusion": "Confusion matrices",
    "roc": "ROC curves",
    "pr": "Precision-recall curves",
    "predicted_vs_actual": "Predicted vs actual values",
    "residuals": "Residuals",
    "deltas": "Metric changes vs the champion with 95% confidence intervals",
    "history": "Metric history of the promoted versions",
}


def plot_names(data: ReportData) -> list[str]:
    """The names of the plots that apply to ``data``, in report order (none for an error)."""
    if data["status"] == "error":
        return []
    names = []
    classification, regression = data["classification"], data["regression"]
    if classification is not None and classification["labels"]:
        names.append("confusion")
        if classification["roc"] is not None:
            names.append("roc")
        if classification["pr"] is not None:
            names.append("pr")
    if regression is not None:
        names += ["predicted_vs_actual", "residuals"]
    if compared(data["metrics"]):
        names.append("deltas")
    if data["history"]:
        names.append("history")
    return names


def compared(metrics: Sequence[MetricRow]) -> list[MetricRow]:
    """The metrics with a known change vs the champion (not missing, not NaN)."""
    return [row for row in metrics if row["delta"] is not None and not math.isnan(row["delta"])]


def render_plots(data: ReportData) -> dict[str, bytes]:
    """Every plot that applies, as ``name -> PNG bytes`` in report order; same data, same bytes."""
    from reports.figures import build_figure, png_bytes  # matplotlib only when rendering

    return {name: png_bytes(build_figure(name, data)) for name in plot_names(data)}
