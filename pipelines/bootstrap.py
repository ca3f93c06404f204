"""Paired bootstrap confidence intervals of the candidate's improvement over the champion.

Both models are scored on the same resamples of the evaluation rows (``default_rng(0)``, 1,000
resamples of n rows with replacement), so the interval reflects the difference between the models
rather than the noise of each. Builtin metrics are computed for all resamples at once
(``pipelines.resampled``); custom metrics are called once per resample. Resamples where a metric is
undefined for either model are skipped; with fewer than half usable, the interval is None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pipelines.gates import delta
from pipelines.metrics import Evaluation, Metric, finite, metric_on_rows
from pipelines.resampled import Resamples, resampled_values

RESAMPLES = 1000
SEED = 0
LEVEL = 95.0  # percent
MIN_USABLE = 0.5  # fraction of the resamples that must give both models a value
CELLS = 1_000_000  # resamples x rows drawn at once: bounds memory (8 MB per matrix) for large data


@dataclass(frozen=True)
class MetricInterval:
    """A metric's point improvement (``delta``, + = candidate better) and the 95% CI of it."""

    metric: str
    delta: float
    ci_low: float | None
    ci_high: float | None
    resamples: int  # usable resamples

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)


def paired_bootstrap(
    metrics: Sequence[Metric],
    y_true: Any,
    candidate: Evaluation,
    champion: Evaluation | None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, MetricInterval]:
    """Per metric with a finite value for both models, its improvement and 95% CI; {} without a champion."""
    if champion is None:
        return {}
    chosen = [m for m in metrics if finite(candidate.values.get(m.name), champion.values.get(m.name))]
    rows = len(y_true)
    deltas: dict[str, list[np.ndarray]] = {metric.name: [] for metric in chosen}
    rng = np.random.default_rng(seed)
    block = max(1, CELLS // max(rows, 1))
    for start in range(0, resamples if chosen else 0, block):
        draws = Resamples(rng.integers(0, rows, size=(min(block, resamples - start), rows)))
        for metric in chosen:
            ours = _values(metric, draws, y_true, candidate)
            theirs = _values(metric, draws, y_true, champion)
            deltas[metric.name].append(ours - theirs if metric.higher_is_better else theirs - ours)
    intervals = {}
    for metric in chosen:
        point = delta(metric.higher_is_better, candidate.values[metric.name], champion.values[metric.name])
        intervals[metric.name] = _interval(metric.name, point, np.concatenate(deltas[metric.name]), resamples)
    return intervals


def ci_bounds(intervals: Mapping[str, MetricInterval]) -> dict[str, tuple[float, float]]:
    """metric -> (low, high) for the metrics that have an interval (the gates' ``intervals`` argument)."""
    return {
        name: (interval.ci_low, interval.ci_high)
        for name, interval in intervals.items()
        if interval.ci_low is not None and interval.ci_high is not None
    }


def _values(metric: Metric, draws: Resamples, y_true: Any, evaluation: Evaluation) -> np.ndarray:
    """(B,) metric values, NaN where undefined: vectorised for builtins, else one call per resample."""
    values = resampled_values(metric, draws, y_true, evaluation)
    if values is not None:
        return values
    looped = (metric_on_rows(metric, y_true, evaluation, rows) for rows in draws.index)
    return np.array([np.nan if value is None else value for value in looped], dtype=float)


def _interval(name: str, point: float, deltas: np.ndarray, resamples: int) -> MetricInterval:
    """The percentile interval of the usable resampled deltas (None with fewer than MIN_USABLE)."""
    usable = deltas[~np.isnan(deltas)]
    if usable.size == 0 or usable.size < MIN_USABLE * resamples:
        return MetricInterval(name, point, None, None, int(usable.size))
    tail = (100.0 - LEVEL) / 2
    low, high = np.percentile(usable, [tail, 100.0 - tail])
    return MetricInterval(name, point, float(low), float(high), int(usable.size))
