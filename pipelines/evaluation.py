"""Evaluating a model on the evaluation rows: predictions, scores and metrics, for candidate and champion."""

from __future__ import annotations

import logging
from typing import Any

from pipelines.checkout import StepError
from pipelines.metrics import Evaluation, Metric, MetricError, compute_metrics

log = logging.getLogger("pipelines.steps")  # progress lines of the run


def evaluate(
    who: str, model: Any, metrics: list[Metric], X_eval: Any, y_eval: Any, task: str | None
) -> Evaluation:
    """The model's Evaluation: predictions, scores (a classifier's, for metrics and plots), metrics."""
    y_pred, y_score = predictions(model, metrics, X_eval, task)
    try:
        values = compute_metrics(metrics, y_eval, y_pred, y_score)
    except MetricError as exc:
        raise StepError("evaluate", str(exc)) from exc
    log.info("%s: %s", who, ", ".join(f"{name} {value:.4f}" for name, value in values.items()))
    return Evaluation(values, y_pred, y_score, getattr(model, "classes_", None))


def predictions(model: Any, metrics: list[Metric], X_eval: Any, task: str | None) -> tuple[Any, Any]:
    """The model's predictions and its scores (None when no metric needs them and it is no classifier)."""
    return model.predict(X_eval), _scores(model, X_eval, any(metric.needs_score for metric in metrics), task)


def _scores(model: Any, X_eval: Any, needed: bool, task: str | None) -> Any:
    """predict_proba's output when a metric needs it, or (for plots) when a classifier offers it."""
    if not hasattr(model, "predict_proba") or not (needed or task == "classification"):
        return None
    if needed:
        return model.predict_proba(X_eval)
    try:
        return model.predict_proba(X_eval)
    except Exception as exc:  # only the plots wanted it
        log.info("no scores for the plots: predict_proba failed (%s: %s)", type(exc).__name__, exc)
        return None
