"""Promotion gates: pure decisions from metric values (no I/O).

Rules (see pipelines.config.GateRule):
- min: candidate >= threshold; max: candidate <= threshold.
- max_regression: improvement over the champion >= -threshold.
- must_beat: improvement > 0 when the threshold is 0 ("must beat" means strictly better),
  otherwise improvement >= threshold (beating by exactly the margin is enough).
- significant (with max_regression / must_beat): the same comparison on the low bound of the 95%
  bootstrap CI of the improvement instead of the point estimate; no interval fails the gate.
- max_slice_regression: on every slice value with at least min_rows rows (of one slice set if
  `slice` is given) the improvement >= -threshold; the worst slice is named.
Improvement follows the metric's direction (for rmse, lower is better). Values within 1e-12
(absolute or relative) count as equal, so 0.85 >= 0.85 holds even after arithmetic. The model's own
measured metrics (predict_latency_ms, model_size_mb) have a wider tolerance for the relative rules
(``pipelines.model_metrics.TOLERANCES``): a candidate within it of the champion counts as equal to it.
Relative and slice rules pass when there is no champion, or the champion has no usable value of the
metric: the candidate is then judged by the absolute gates alone. A candidate metric that is missing
or NaN fails its gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, assert_never

from pipelines.config import GateRule
from pipelines.model_metrics import TOLERANCES

if TYPE_CHECKING:
    from pipelines.slices import SliceRow

TOLERANCE = 1e-12
NO_CHAMPION = "no champion yet: judged by absolute gates alone"


class Verdict(StrEnum):
    """Outcome of a set of gates."""

    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class GateResult:
    """One gate applied to the candidate; reason is one human sentence.

    ci_low/ci_high: the 95% CI of the improvement (relative gates, when known); slice: the worst
    slice ("region=north") of a slice gate.
    """

    metric: str
    rule: str
    threshold: float
    candidate: float | None
    champion: float | None
    passed: bool
    reason: str
    significant: bool = False
    ci_low: float | None = None
    ci_high: float | None = None
    slice: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class GateDecision:
    """The verdict and every gate's result, in rule order."""

    verdict: Verdict
    results: tuple[GateResult, ...]

    @property
    def passed_count(self) -> int:
        """Number of gates passed."""
        return sum(result.passed for result in self.results)

    @property
    def total(self) -> int:
        """Number of gates evaluated."""
        return len(self.results)

    def failures(self) -> tuple[GateResult, ...]:
        """The failed gates, in rule order."""
        return tuple(result for result in self.results if not result.passed)


def delta(metric_higher_is_better: bool, candidate: float, champion: float) -> float:
    """Signed improvement of the candidate over the champion: > 0 means the candidate is better."""
    return candidate - champion if metric_higher_is_better else champion - candidate


def evaluate_gates(
    rules: Sequence[GateRule],
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    higher_is_better: Mapping[str, bool],
    intervals: Mapping[str, tuple[float, float]] | None = None,
    slices: Sequence[SliceRow] | None = None,
) -> GateDecision:
    """Apply every rule to the candidate's metrics (and the champion's, for relative rules).

    ``intervals``: metric -> 95% CI (low, high) of the improvement, for ``significant`` gates;
    ``slices``: the per-slice metrics, for max_slice_regression gates.
    """
    results = tuple(
        _evaluate(rule, candidate, champion, higher_is_better, intervals or {}, slices) for rule in rules
    )
    verdict = Verdict.PASSED if all(result.passed for result in results) else Verdict.FAILED
    return GateDecision(verdict, results)


def _evaluate(
    rule: GateRule,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    higher_is_better: Mapping[str, bool],
    intervals: Mapping[str, tuple[float, float]],
    slices: Sequence[SliceRow] | None,
) -> GateResult:
    metric, kind, threshold = rule.metric, rule.rule, rule.threshold
    value = candidate.get(metric)
    base = None if champion is None else champion.get(metric)
    result = partial(GateResult, metric, kind, threshold, value, base)
    if value is None:
        return result(False, f"{metric} was not computed for the candidate")
    if math.isnan(value):
        return result(False, f"{metric} is NaN for the candidate")
    match kind:
        case "min" | "max":
            return result(*_absolute(kind, metric, threshold, value))
        case "max_regression" | "must_beat" | "max_slice_regression" if champion is None:
            return result(True, NO_CHAMPION, significant=rule.significant)
        case "max_regression" | "must_beat":
            if base is None or math.isnan(base):
                reason = f"the champion has no {metric} value: relative gate skipped"
                return result(True, reason, significant=rule.significant)
            improvement = _improvement(metric, value, base, higher_is_better)
            interval = intervals.get(metric)
            low, high = interval if interval is not None else (None, None)
            result = partial(result, significant=rule.significant, ci_low=low, ci_high=high)
            if rule.significant:
                return result(*_significant(kind, metric, threshold, value, base, improvement, interval))
            return result(*_relative(kind, metric, threshold, value, base, improvement))
        case "max_slice_regression":
            if slices is None:
                raise ValueError(f"the max_slice_regression gate on {metric!r} needs the slice metrics")
            return _slice_gate(rule, slices, higher_is_better)
        case _:
            assert_never(kind)


def _absolute(kind: Literal["min", "max"], metric: str, threshold: float, value: float) -> tuple[bool, str]:
    """(passed, reason), e.g. "accuracy 0.953 >= 0.85"."""
    if kind == "min":
        passed = _at_least(value, threshold)
        sign = ">=" if passed else "<"
    else:
        passed = _at_least(threshold, value)
        sign = "<=" if passed else ">"
    return passed, f"{metric} {_show(value, threshold)} {sign} {threshold:g}"


def _relative(
    kind: Literal["max_regression", "must_beat"],
    metric: str,
    threshold: float,
    value: float,
    base: float,
    improvement: float,
) -> tuple[bool, str]:
    """(passed, reason), e.g. "f1_macro 0.900 is 0.030 worse than the champion's 0.930 (...)".

    A measured metric within its tolerance of the champion's value counts as equal (improvement 0).
    """
    tolerance = TOLERANCES.get(metric)
    if tolerance is not None and tolerance.same(value, base) and not _equal(improvement, 0.0):
        passed, limit = _judge(kind, threshold, 0.0)
        shown, shown_base = _show(value, base), _show(base, value)
        return passed, (f"{metric} {shown} is within {tolerance.describe()} of the champion's {shown_base}: "
                        f"counted as equal ({limit})")
    passed, limit = _judge(kind, threshold, improvement)
    return passed, _versus(metric, value, base, improvement, threshold, limit)


def _significant(
    kind: Literal["max_regression", "must_beat"],
    metric: str,
    threshold: float,
    value: float,
    base: float,
    improvement: float,
    interval: tuple[float, float] | None,
) -> tuple[bool, str]:
    """(passed, reason) judged on the low bound of the improvement's 95% CI."""
    versus = f"{metric} {_show(value, base)} vs the champion's {_show(base, value)}"
    if interval is None:
        return False, f"{versus}: no confidence interval of the improvement, so it cannot be significant"
    low, high = interval
    passed, limit = _judge(kind, threshold, low)
    ci = f"95% CI [{_signed(low, threshold)}, {_signed(high, threshold)}]"
    return passed, (
        f"{versus}: improvement {_signed(improvement, threshold)}, {ci}, judged on the CI low bound ({limit})"
    )


def _judge(
    kind: Literal["max_regression", "must_beat"], threshold: float, improvement: float
) -> tuple[bool, str]:
    """(passed, limit text) of a relative rule for an improvement (point estimate or CI bound)."""
    if kind == "max_regression":
        return _at_least(improvement, -threshold), f"max regression {threshold:g}"
    if _equal(threshold, 0.0):
        return improvement > 0 and not _equal(improvement, 0.0), "must be strictly better"
    return _at_least(improvement, threshold), f"must be at least {threshold:g} better"


def _slice_gate(
    rule: GateRule, slices: Sequence[SliceRow], higher_is_better: Mapping[str, bool]
) -> GateResult:
    """The worst eligible slice value against max_slice_regression, e.g. "region=north: f1_macro ..."."""
    metric, threshold = rule.metric, rule.threshold
    eligible: list[tuple[float, float, float, SliceRow]] = []  # (improvement, candidate, champion, row)
    for row in slices:
        value, base = row.candidate, row.champion
        chosen = row.metric == metric and rule.slice in (None, row.slice) and row.rows >= rule.min_rows
        if chosen and value is not None and base is not None and not math.isnan(value + base):
            eligible.append((_improvement(metric, value, base, higher_is_better), value, base, row))
    if not eligible:
        reason = f"no slice has {rule.min_rows}+ rows and {metric} for both models: slice gate skipped"
        return GateResult(metric, rule.rule, threshold, None, None, True, reason)
    improvement, value, base, worst = min(eligible, key=lambda entry: entry[0])
    reason = (
        f"{worst.label}: {metric} {_show(value, base)} vs champion {_show(base, value)} "
        f"({_signed(improvement, threshold)}, max {threshold:g})"
    )
    passed = _at_least(improvement, -threshold)
    return GateResult(metric, rule.rule, threshold, value, base, passed, reason, slice=worst.label)


def _improvement(metric: str, value: float, base: float, higher_is_better: Mapping[str, bool]) -> float:
    if metric not in higher_is_better:
        raise ValueError(f"direction of metric {metric!r} unknown: add it to higher_is_better")
    return delta(higher_is_better[metric], value, base)


def _versus(metric: str, value: float, base: float, improvement: float, threshold: float, limit: str) -> str:
    """e.g. "f1_macro 0.900 is 0.030 worse than the champion's 0.930 (max regression 0.02)"."""
    shown, shown_base = _show(value, base), _show(base, value)
    if _equal(improvement, 0.0):
        return f"{metric} {shown} equals the champion's {shown_base} ({limit})"
    direction = "better" if improvement > 0 else "worse"
    gap = _show(abs(improvement), threshold)
    return f"{metric} {shown} is {gap} {direction} than the champion's {shown_base} ({limit})"


def _equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _at_least(a: float, b: float) -> bool:
    return a >= b or _equal(a, b)


def _signed(value: float, other: float) -> str:
    """value with its sign ("+0.020", "−0.090"), digits as in _show."""
    shown = _show(abs(value), other)
    return shown if _equal(value, 0.0) else ("+" if value > 0 else "\u2212") + shown


def _show(value: float, other: float) -> str:
    """value with 3 decimals, or more when 3 would make it look equal to a different `other`."""
    digits = 3
    while digits < 12 and not _equal(value, other) and f"{value:.{digits}f}" == f"{other:.{digits}f}":
        digits += 1
    return f"{value:.{digits}f}"
