"""What a run computes after evaluating both models: bootstrap intervals, slices and plot data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.bootstrap import MetricInterval, ci_bounds, paired_bootstrap
from pipelines.metrics import Evaluation, Metric
from pipelines.report_plots import classification_plots, regression_plots
from pipelines.slices import SliceRow, compute_slices

if TYPE_CHECKING:
    from reports.types import ClassificationPlots, RegressionPlots

    from pipelines.config import ModelgateConfig


@dataclass(frozen=True)
class Analysis:
    """The candidate against the champion beyond the point metrics."""

    intervals: dict[str, MetricInterval] = field(default_factory=dict)
    slices: list[SliceRow] = field(default_factory=list)
    classification: ClassificationPlots | None = None
    regression: RegressionPlots | None = None

    def bounds(self) -> dict[str, tuple[float, float]]:
        """metric -> 95% CI (low, high) of the improvement, for the gates."""
        return ci_bounds(self.intervals)


def analyse(
    config: ModelgateConfig,
    metrics: Sequence[Metric],
    X_eval: Any,
    y_eval: Any,
    candidate: Evaluation,
    champion: Evaluation | None,
    import_function: Callable[[str], Callable[..., Any]],
    plots: bool,
) -> Analysis:
    """Intervals (with a champion), the slice table (with slices configured) and, if ``plots``, plot data.

    Raises SliceError when a slice set does not fit the data.
    """
    intervals = paired_bootstrap(metrics, y_eval, candidate, champion)
    slices = compute_slices(config.slices, X_eval, y_eval, metrics, candidate, champion, import_function)
    if not plots:
        return Analysis(intervals, slices)
    if config.model.task == "classification":
        return Analysis(intervals, slices, classification=classification_plots(y_eval, candidate, champion))
    return Analysis(intervals, slices, regression=regression_plots(y_eval, candidate, champion))
