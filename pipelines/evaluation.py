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
    y_pred = model.predict(X_eval)
    y_score = _scores(model, X_eval, any(metric.needs_score for metric in metrics), task)
    try:
        values = compute_metrics(metrics, y_eval, y_pred, y_score)
    except MetricError as exc:
        raise StepError("evaluate", str(exc)) from exc
    log.info("%s: %s", who, ", ".join(f"{name} {value:.4f}" for name, value in values.items()))
    return Evaluation(values, y_pred, y_score, getattr(model, "classes_", None))


def evaluate_champion(
    tracker: Any, model_name: str, version: int | None, metrics: list[Metric], X_eval: Any, y_eval: Any,
    task: str | None,
) -> tuple[Evaluation | None, str | None]:
    """The champion's Evaluation on the same rows, or (None, reason) when it cannot be used."""
    if version is None:
        log.info("champion: none yet, judging by absolute gates alone")
        return None, None
    try:
        champion = tracker.load_champion(model_name, version)
        evaluation = evaluate(f"champion v{version}", champion.model, metrics, X_eval, y_eval, task)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
        reason = f"champion version {version} could not be evaluated on this data: {problem}"
        log.warning("%s; judging by absolute gates alone", reason)
        return None, " ".join(reason.split())
    return evaluation, None


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


def predictions_frame(y_true: Any, candidate: Any, champion: Any) -> Any:
    """y_true / candidate / champion predictions per evaluation row (None for multi-output targets)."""
    import numpy as np
    import pandas as pd

    columns = {"y_true": y_true, "candidate": candidate, "champion": champion}
    arrays = {name: np.asarray(values) for name, values in columns.items() if values is not None}
    if any(array.ndim != 1 for array in arrays.values()):
        return None
    return pd.DataFrame(arrays)
