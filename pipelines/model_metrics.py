"""The model's own speed and size as builtin metrics of every task: their names, their direction (lower is
better), when they are measured, and the tolerance within which two measurements count as equal.

- ``predict_latency_ms``: the p95 of single-row ``predict`` calls (``pipelines.latency``), measured in
  the job, only when the configuration names it (in ``metrics:`` or in any gate): it costs time.
- ``model_size_mb``: the size of the saved model (``pipelines.model_size``), measured on the trusted
  side from the files themselves, always: it is free.

Neither is computed from predictions row by row, so neither has a bootstrap interval or per-slice
values. A timing repeats with noise, so the relative gates (``max_regression``, ``must_beat``) count a
difference within ``TOLERANCES`` as no difference at all: noise cannot flip a verdict on a tie.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.config import ModelgateConfig

PREDICT_LATENCY = "predict_latency_ms"
MODEL_SIZE = "model_size_mb"
MODEL_METRICS = (PREDICT_LATENCY, MODEL_SIZE)  # their order in the report, after the configured metrics


@dataclass(frozen=True)
class Tolerance:
    """Two values of a measured metric are equal when they differ by at most ``relative`` of the
    champion's value or ``absolute`` (in ``unit``), whichever is larger."""

    relative: float
    absolute: float
    unit: str

    def width(self, champion: float) -> float:
        """The largest difference from ``champion`` that still counts as equal."""
        return max(self.absolute, self.relative * abs(champion))

    def same(self, candidate: float, champion: float) -> bool:
        """Whether ``candidate`` is within the tolerance of ``champion`` (the bound itself included, also
        after arithmetic: 1.05 - 1.0 is 0.05 here)."""
        gap, width = abs(candidate - champion), self.width(champion)
        return gap <= width or math.isclose(gap, width, rel_tol=1e-12, abs_tol=1e-12)

    def describe(self) -> str:
        """e.g. "5% or 0.05 ms"."""
        return f"{self.relative * 100:g}% or {self.absolute:g} {self.unit}"


# The one place these numbers live (README "Speed and size" documents them; tests table-test them).
TOLERANCES: dict[str, Tolerance] = {
    PREDICT_LATENCY: Tolerance(relative=0.05, absolute=0.05, unit="ms"),
    MODEL_SIZE: Tolerance(relative=0.01, absolute=0.01, unit="MB"),
}


def is_model_metric(name: str) -> bool:
    """Whether ``name`` is one of the model's own metrics (``predict_latency_ms``, ``model_size_mb``)."""
    return name in MODEL_METRICS


def model_metric_directions(names: Iterable[str]) -> dict[str, bool]:
    """``higher_is_better`` of the model metrics among ``names``: False for each (lower is better)."""
    return {name: False for name in names if is_model_metric(name)}


def latency_wanted(config: ModelgateConfig) -> bool:
    """Whether the run measures ``predict_latency_ms``: the configuration names it in ``metrics:`` or in a
    gate of any stage (so staging and production reports show the same metrics)."""
    gates = [*config.gates.staging, *config.gates.production]
    return PREDICT_LATENCY in config.metric_names() or any(gate.metric == PREDICT_LATENCY for gate in gates)
