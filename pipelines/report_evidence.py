"""What the trusted side builds for the report from a job's plain outputs: the analysis with plot
data (from the saved predictions and scores) and the per-row predictions table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.analysis import Analysis
from pipelines.bootstrap import MetricInterval
from pipelines.job.arrays import evaluations
from pipelines.slices import SliceRow

if TYPE_CHECKING:
    from pipelines.job.files import JobEvaluation


def report_analysis(
    task: str, arrays: dict[str, Any], evaluation: JobEvaluation, intervals: dict[str, MetricInterval],
    slices: list[SliceRow], plots: bool,
) -> Analysis:
    """Intervals and slices as the job computed them, plus plot data drawn from the arrays."""
    if not plots:
        return Analysis(intervals, slices)
    from pipelines.report_plots import classification_plots, regression_plots

    candidate, champion = evaluations(arrays, evaluation.candidate, evaluation.champion)
    y_true = arrays["y_true"]
    if task == "classification":
        return Analysis(intervals, slices, classification=classification_plots(y_true, candidate, champion))
    return Analysis(intervals, slices, regression=regression_plots(y_true, candidate, champion))


def predictions_table(arrays: dict[str, Any]) -> Any:
    """y_true / candidate / champion predictions per evaluation row (None for multi-output targets)."""
    import pandas as pd

    columns = {"y_true": "y_true", "candidate": "candidate_pred", "champion": "champion_pred"}
    found = {name: arrays[key] for name, key in columns.items() if key in arrays}
    if any(array.ndim != 1 for array in found.values()):
        return None
    return pd.DataFrame(found)
