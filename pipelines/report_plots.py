"""Plot data of a report (``reports.types`` ClassificationPlots / RegressionPlots) from predictions.

Classification: labels, confusion matrices, ROC and precision-recall curves (binary: the positive
class, i.e. the larger label; multiclass: micro-averaged one-vs-rest), each at most CURVE_POINTS
points. Regression: true values and both models' predictions, at most REGRESSION_ROWS rows.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.metrics import Evaluation

if TYPE_CHECKING:
    from reports.types import ClassificationPlots, Curve, CurvePair, RegressionPlots

CURVE_POINTS = 200
REGRESSION_ROWS = 5000
SEED = 0


def classification_plots(
    y_true: Any, candidate: Evaluation, champion: Evaluation | None
) -> ClassificationPlots | None:
    """{labels, confusion_candidate, confusion_champion, roc, pr}; None for multi-output targets."""
    from sklearn.metrics import confusion_matrix

    y = np.asarray(y_true)
    predictions = [np.asarray(e.y_pred) for e in (candidate, champion) if e is not None]
    if y.ndim != 1 or any(p.shape != y.shape for p in predictions):
        return None
    labels = np.unique(np.concatenate([y, *predictions]))

    def confusion(evaluation: Evaluation) -> list[list[int]]:
        return confusion_matrix(y, np.asarray(evaluation.y_pred), labels=labels).astype(int).tolist()

    curves = {kind: _curve_pair(kind, y, candidate, champion) for kind in ("roc", "pr")}
    return {
        "labels": [str(label) for label in labels],
        "confusion_candidate": confusion(candidate),
        "confusion_champion": None if champion is None else confusion(champion),
        "roc": curves["roc"],
        "pr": curves["pr"],
    }


def regression_plots(
    y_true: Any, candidate: Evaluation, champion: Evaluation | None
) -> RegressionPlots | None:
    """{y_true, candidate, champion} as floats, a deterministic subsample above REGRESSION_ROWS rows."""
    y = np.asarray(y_true, dtype=float)
    if y.ndim != 1:
        return None
    rows = np.arange(y.size)
    if y.size > REGRESSION_ROWS:
        rows = np.sort(np.random.default_rng(SEED).choice(y.size, REGRESSION_ROWS, replace=False))

    def values(evaluation: Evaluation | None) -> list[float] | None:
        if evaluation is None:
            return None
        pred = np.asarray(evaluation.y_pred, dtype=float)
        return pred[rows].tolist() if pred.shape == y.shape else None

    ours = values(candidate)
    if ours is None:
        return None
    return {"y_true": y[rows].tolist(), "candidate": ours, "champion": values(champion)}


def _curve_pair(
    kind: str, y: np.ndarray, candidate: Evaluation, champion: Evaluation | None
) -> CurvePair | None:
    ours = _curve(kind, y, candidate)
    if ours is None:
        return None
    return {"candidate": ours, "champion": None if champion is None else _curve(kind, y, champion)}


def _curve(kind: str, y: np.ndarray, evaluation: Evaluation) -> Curve | None:
    """{x, y, auc}: ROC (false vs true positive rate) or PR (recall vs precision); None without scores."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    scored = _binarized(y, evaluation)
    if scored is None:
        return None
    truth, scores = scored
    if truth.all() or not truth.any():
        return None  # one class only: the curves are undefined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "roc":
            x, y_axis, _ = roc_curve(truth, scores)
        else:
            y_axis, x, _ = precision_recall_curve(truth, scores)
        area = float(auc(x, y_axis))
    keep = _decimated(x.size)
    return {"x": x[keep].astype(float).tolist(), "y": y_axis[keep].astype(float).tolist(), "auc": area}


def _binarized(y: np.ndarray, evaluation: Evaluation) -> tuple[np.ndarray, np.ndarray] | None:
    """(is positive, score) per row (binary) or per row and class, ravelled (multiclass micro-average)."""
    from sklearn.preprocessing import label_binarize

    if evaluation.y_score is None:
        return None
    scores = np.asarray(evaluation.y_score, dtype=float)
    classes = np.asarray(evaluation.classes if evaluation.classes is not None else np.unique(y))
    if scores.ndim == 1 or (scores.ndim == 2 and scores.shape[1] == 1):
        return (y == classes[-1]), scores.ravel()
    if scores.ndim != 2 or scores.shape[1] != classes.size or scores.shape[0] != y.size:
        return None
    if classes.size == 2:
        return (y == classes[1]), scores[:, 1]
    return label_binarize(y, classes=classes).astype(bool).ravel(), scores.ravel()


def _decimated(points: int) -> np.ndarray:
    """At most CURVE_POINTS evenly spaced positions, always keeping the first and the last."""
    if points <= CURVE_POINTS:
        return np.arange(points)
    return np.unique(np.linspace(0, points - 1, CURVE_POINTS).round().astype(int))
