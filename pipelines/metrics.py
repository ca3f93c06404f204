"""Metrics: scikit-learn builtins per task, and the repository's custom metrics.

scikit-learn and numpy are imported on first computation, so parsing a configuration (which checks
builtin names here) never loads them.
"""

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.model_metrics import is_model_metric

if TYPE_CHECKING:
    from pipelines.config import ModelgateConfig


class MetricError(Exception):
    """A metric could not be resolved or computed; the message names the metric."""


@dataclass(frozen=True)
class Metric:
    """A named metric: compute(y_true, y_pred, y_score) -> float; y_score is None without predict_proba."""

    name: str
    higher_is_better: bool
    needs_score: bool
    compute: Callable[[Any, Any, Any], float]


def _sk() -> Any:
    """sklearn.metrics, imported on first use."""
    import sklearn.metrics

    return sklearn.metrics


def _accuracy(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().accuracy_score(y_true, y_pred))


def _precision_macro(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().precision_score(y_true, y_pred, average="macro", zero_division=0))


def _recall_macro(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().recall_score(y_true, y_pred, average="macro", zero_division=0))


def _f1_macro(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().f1_score(y_true, y_pred, average="macro", zero_division=0))


def _roc_auc(y_true: Any, y_pred: Any, y_score: Any) -> float:
    """Binary: positive-class scores, (n,) or column 1 of (n, 2); multiclass (n, k): one-vs-rest macro."""
    import numpy as np

    scores = np.asarray(y_score, dtype=float)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.ndim == 1:
        return float(_sk().roc_auc_score(y_true, scores))
    return float(_sk().roc_auc_score(y_true, scores, multi_class="ovr", average="macro"))


def _log_loss(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().log_loss(y_true, y_score))


def _rmse(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().root_mean_squared_error(y_true, y_pred))


def _mae(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().mean_absolute_error(y_true, y_pred))


def _r2(y_true: Any, y_pred: Any, y_score: Any) -> float:
    return float(_sk().r2_score(y_true, y_pred))


_BUILTINS: dict[str, tuple[Metric, ...]] = {
    "classification": (
        Metric("accuracy", higher_is_better=True, needs_score=False, compute=_accuracy),
        Metric("precision_macro", higher_is_better=True, needs_score=False, compute=_precision_macro),
        Metric("recall_macro", higher_is_better=True, needs_score=False, compute=_recall_macro),
        Metric("f1_macro", higher_is_better=True, needs_score=False, compute=_f1_macro),
        Metric("roc_auc", higher_is_better=True, needs_score=True, compute=_roc_auc),
        Metric("log_loss", higher_is_better=False, needs_score=True, compute=_log_loss),
    ),
    "regression": (
        Metric("rmse", higher_is_better=False, needs_score=False, compute=_rmse),
        Metric("mae", higher_is_better=False, needs_score=False, compute=_mae),
        Metric("r2", higher_is_better=True, needs_score=False, compute=_r2),
    ),
}


def builtin_metrics(task: str) -> dict[str, Metric]:
    """The builtin metrics of a task ("classification" or "regression"), by name."""
    if task not in _BUILTINS:
        raise ValueError(f"unknown task {task!r} (tasks: {', '.join(_BUILTINS)})")
    return {metric.name: metric for metric in _BUILTINS[task]}


def resolve_metrics(
    config: "ModelgateConfig", import_function: Callable[[str], Callable[..., Any]]
) -> list[Metric]:
    """The configured metrics of predictions in order: builtins by name, custom ones via
    import_function("mod:func"); the model's own metrics (``pipelines.model_metrics``) are measured, not
    computed from predictions, so they are left out."""
    builtins = builtin_metrics(config.model.task)
    resolved: list[Metric] = []
    for entry in config.metrics:
        if isinstance(entry, str) and is_model_metric(entry):
            continue
        if isinstance(entry, str):
            if entry not in builtins:
                raise MetricError(f"unknown {config.model.task} metric {entry!r}")
            resolved.append(builtins[entry])
            continue
        function = import_function(entry.function)
        if not callable(function):
            raise MetricError(f"custom metric {entry.name!r}: {entry.function} is not callable")
        resolved.append(Metric(entry.name, entry.higher_is_better, needs_score=False, compute=function))
    return resolved


def compute_metrics(metrics: Sequence[Metric], y_true: Any, y_pred: Any, y_score: Any) -> dict[str, float]:
    """Compute every metric; raises MetricError naming the metric that cannot be computed."""
    values: dict[str, float] = {}
    for metric in metrics:
        if metric.needs_score and y_score is None:
            raise MetricError(
                f"metric {metric.name!r} needs predicted probabilities, but the model has no predict_proba "
                f"(remove {metric.name} from metrics or use a model with predict_proba)"
            )
        try:
            value = metric.compute(y_true, y_pred, y_score)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            raise MetricError(f"metric {metric.name!r} could not be computed: {problem}") from exc
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise MetricError(f"metric {metric.name!r} returned {value!r}, expected a number")
        values[metric.name] = float(value)
    return values


@dataclass(frozen=True)
class Evaluation:
    """One model on the evaluation rows: metric values, predictions, scores (predict_proba) and classes_."""

    values: dict[str, float]
    y_pred: Any
    y_score: Any = None
    classes: Any = None


def finite(*values: float | None) -> bool:
    """Every value is a number other than NaN or infinity (None is not)."""
    return all(value is not None and math.isfinite(value) for value in values)


def take(data: Any, rows: Any) -> Any:
    """The given rows (positions) of an array, data frame or series."""
    import numpy as np

    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[rows]
    return np.asarray(data)[rows]


def metric_on_rows(metric: Metric, y_true: Any, evaluation: Evaluation, rows: Any) -> float | None:
    """The metric on a subset of rows; None when it is undefined there (error, NaN or no scores)."""
    if metric.needs_score and evaluation.y_score is None:
        return None
    parts = (take(part, rows) for part in (y_true, evaluation.y_pred, evaluation.y_score))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. UndefinedMetricWarning on a one-class subset
        try:
            value = metric.compute(*parts)
        except Exception:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        return None
    return float(value)
