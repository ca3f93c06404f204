"""Promotion gates: pure decisions from metric values (no I/O).

Rules (see pipelines.config.GateRule):
- min: candidate >= threshold; max: candidate <= threshold.
- max_regression: improvement over the champion >= -threshold.
- must_beat: improvement > 0 when the threshold is 0 ("must beat" means strictly better),
  otherwise improvement >= threshold (beating by exactly the margin is enough).
Improvement follows the metric's direction (for rmse, lower is better). Values within 1e-12
(absolute or relative) count as equal, so 0.85 >= 0.85 holds even after arithmetic.
Relative rules pass when there is no champion, or the champion has no usable value of the metric:
the candidate is then judged by the absolute gates alone. A candidate metric that is missing or
NaN fails its gate. `significant` is accepted by the configuration but not used here yet.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Literal, assert_never

from pipelines.config import GateRule

TOLERANCE = 1e-12


class Verdict(StrEnum):
    """Outcome of a set of gates."""

    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class GateResult:
    """One gate applied to the candidate; reason is one human sentence."""

    metric: str
    rule: str
    threshold: float
    candidate: float | None
    champion: float | None
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Plain dict: metric, rule, threshold, candidate, champion, passed, reason."""
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
) -> GateDecision:
    """Apply every rule to the candidate's metrics (and the champion's, for relative rules)."""
    results = tuple(_evaluate(rule, candidate, champion, higher_is_better) for rule in rules)
    verdict = Verdict.PASSED if all(result.passed for result in results) else Verdict.FAILED
    return GateDecision(verdict, results)


def _evaluate(
    rule: GateRule,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    higher_is_better: Mapping[str, bool],
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
        case "max_regression" | "must_beat":
            if champion is None:
                return result(True, "no champion yet: judged by absolute gates alone")
            if base is None or math.isnan(base):
                return result(True, f"the champion has no {metric} value: relative gate skipped")
            improvement = _improvement(metric, value, base, higher_is_better)
            return result(*_relative(kind, metric, threshold, value, base, improvement))
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
    """(passed, reason), e.g. "f1_macro 0.900 is 0.030 worse than the champion's 0.930 (...)"."""
    if kind == "max_regression":
        passed, limit = _at_least(improvement, -threshold), f"max regression {threshold:g}"
    elif _equal(threshold, 0.0):
        passed, limit = improvement > 0 and not _equal(improvement, 0.0), "must be strictly better"
    else:
        passed, limit = _at_least(improvement, threshold), f"must be at least {threshold:g} better"
    return passed, _versus(metric, value, base, improvement, threshold, limit)


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


def _show(value: float, other: float) -> str:
    """value with 3 decimals, or more when 3 would make it look equal to a different `other`."""
    digits = 3
    while digits < 12 and not _equal(value, other) and f"{value:.{digits}f}" == f"{other:.{digits}f}":
        digits += 1
    return f"{value:.{digits}f}"
