"""Builtin metrics on every bootstrap resample at once: numpy over an index matrix, no loop over resamples.

A kernel returns one value per resample (NaN where the metric is undefined, e.g. ROC AUC on a
resample with one class), or None when it cannot handle the data (multi-output targets, unusual
label types): the caller then computes the metric resample by resample. Kernels agree with the
scikit-learn builtins of ``pipelines.metrics`` on every resample (tests check it); the one
deliberate difference is log_loss, which stays defined on a resample that misses a class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pipelines.metrics import Evaluation, Metric, builtin_metrics


class Resamples:
    """B resamples of n rows: ``index[b]`` holds the row positions drawn (with replacement) for resample b.

    ``counts[b, i]`` is how often row i was drawn in resample b, so a sum over a resample is a
    matrix product: every kernel below is a few dense passes over a (B, n) matrix. Products use
    einsum rather than BLAS: single-threaded, they stay fast when other processes hold the cores.
    """

    def __init__(self, index: np.ndarray) -> None:
        self.index = index
        self.count, self.rows = index.shape
        offsets = (np.arange(self.count) * self.rows)[:, None]
        flat = np.bincount((index + offsets).ravel(), minlength=self.count * self.rows)
        self.counts = flat.reshape(self.count, self.rows).astype(float)
        self.memo: dict[tuple[str, int], tuple[Evaluation, np.ndarray]] = {}  # shared by related kernels

    def mean(self, per_row: np.ndarray) -> np.ndarray:
        """(B,) mean of a per-row value over each resample."""
        return np.einsum("ij,j->i", self.counts, per_row.astype(float)) / self.rows


Kernel = Callable[[Resamples, np.ndarray, Evaluation], "np.ndarray | None"]


def resampled_values(
    metric: Metric, resamples: Resamples, y_true: Any, evaluation: Evaluation
) -> np.ndarray | None:
    """(B,) values of a builtin metric on every resample, or None when no kernel applies."""
    kernel = _KERNELS.get(metric.name)
    if kernel is None or _BUILTINS.get(metric.name) != metric:
        return None
    y = np.asarray(y_true)
    if y.ndim != 1:
        return None
    try:
        return kernel(resamples, y, evaluation)
    except (TypeError, ValueError):  # e.g. labels of mixed types that cannot be sorted
        return None


def _predictions(y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    pred = np.asarray(evaluation.y_pred)
    return pred if pred.shape == y.shape else None


def _accuracy(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    pred = _predictions(y, evaluation)
    return None if pred is None else res.mean((pred == y).astype(float))


def _errors(y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    pred = _predictions(y, evaluation)
    return None if pred is None else pred.astype(float) - y.astype(float)


def _mae(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    errors = _errors(y, evaluation)
    return None if errors is None else res.mean(np.abs(errors))


def _rmse(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    errors = _errors(y, evaluation)
    return None if errors is None else np.sqrt(res.mean(errors**2))


def _r2(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    """1 - SS_res / SS_tot; like scikit-learn, 1.0 (perfect) or 0.0 when the resampled target is constant."""
    errors = _errors(y, evaluation)
    if errors is None:
        return None
    centred = y.astype(float) - y.astype(float).mean()  # shifting y keeps SS_tot and avoids cancellation
    squares = res.mean(centred**2)
    total = (squares - res.mean(centred) ** 2) * res.rows
    residual = res.mean(errors**2) * res.rows
    constant = total <= 1e-10 * squares * res.rows
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - residual / total
    return np.where(constant, np.where(residual == 0, 1.0, 0.0), r2)


def _confusion(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    """(B, k, k) confusion matrices (actual x predicted) over the labels of y and the predictions."""
    key = ("confusion", id(evaluation))
    if key not in res.memo:
        pred = _predictions(y, evaluation)
        if pred is None:
            return None
        labels, codes = np.unique(np.concatenate([y, pred]), return_inverse=True)
        size = labels.size
        cells = codes[: y.size] * size + codes[y.size :]
        offsets = (np.arange(res.count) * size * size)[:, None]
        flat = np.bincount((offsets + cells[res.index]).ravel(), minlength=res.count * size * size)
        res.memo[key] = (evaluation, flat.reshape(res.count, size, size).astype(float))
    return res.memo[key][1]


def _macro(kind: str) -> Kernel:
    """precision/recall/f1 macro over the labels present in each resample (zero_division=0)."""

    def kernel(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
        confusion = _confusion(res, y, evaluation)
        if confusion is None:
            return None
        true_n, pred_n = confusion.sum(axis=2), confusion.sum(axis=1)
        hits = np.diagonal(confusion, axis1=1, axis2=2)
        denominator = {"precision": pred_n, "recall": true_n, "f1": (true_n + pred_n) / 2}[kind]
        with np.errstate(divide="ignore", invalid="ignore"):
            per_label = np.where(denominator > 0, hits / denominator, 0.0)
        present = (true_n + pred_n) > 0
        return np.asarray((per_label * present).sum(axis=1) / present.sum(axis=1), dtype=float)

    return kernel


def _binary_auc(res: Resamples, positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC per resample: the share of (positive, negative) pairs ranked right, ties counting half.

    Over the rows sorted by score, a drawn positive beats every drawn row before it except the
    positives: sum(w * rows_before) - P(P-1)/2 counting a row's copies; tied scores are merged first.
    NaN on a resample without both classes.
    """
    order = np.argsort(scores, kind="mergesort")
    ordered, drawn = scores[order], res.counts[:, order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    if starts.size < scores.size:  # tied scores: pairs within a group count half
        pos = np.add.reduceat(drawn * positive[order], starts, axis=1)
        neg = np.add.reduceat(drawn * ~positive[order], starts, axis=1)
        wins = (pos * (np.cumsum(neg, axis=1) - 0.5 * neg)).sum(axis=1)
        total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    else:
        mask = positive[order].astype(float)
        before = np.cumsum(drawn, axis=1) - drawn  # drawn rows strictly before each row
        total_pos = np.einsum("ij,j->i", drawn, mask)
        total_neg = res.rows - total_pos
        own = np.einsum("ij,ij,j->i", drawn, drawn, mask)  # copies of the same positive row
        wins = np.einsum("ij,ij,j->i", drawn, before, mask) - (total_pos**2 - own) / 2
    pairs = total_pos * total_neg
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pairs > 0, wins / pairs, np.nan)


def _roc_auc(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    """Binary: the positive (larger) class; multiclass: one-vs-rest macro, NaN unless every class is drawn."""
    if evaluation.y_score is None:
        return None
    scores = np.asarray(evaluation.y_score, dtype=float)
    classes = np.unique(y)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.ndim == 1 and classes.size == 2:
        return _binary_auc(res, y == classes[1], scores)
    if scores.ndim == 2 and scores.shape[1] == classes.size > 2:
        per_class = [_binary_auc(res, y == label, scores[:, i]) for i, label in enumerate(classes)]
        return np.asarray(np.mean(per_class, axis=0), dtype=float)
    return None


def _log_loss(res: Resamples, y: np.ndarray, evaluation: Evaluation) -> np.ndarray | None:
    """Mean of -log p(true class), p clipped to [eps, 1 - eps] as scikit-learn does."""
    if evaluation.y_score is None:
        return None
    scores = np.asarray(evaluation.y_score, dtype=float)
    classes = np.unique(y)
    if scores.ndim == 1:
        scores = np.column_stack([1.0 - scores, scores])
    if scores.ndim != 2 or scores.shape[1] != classes.size:
        return None
    eps = np.finfo(scores.dtype).eps
    chosen = scores[np.arange(y.size), np.searchsorted(classes, y)]
    return res.mean(-np.log(np.clip(chosen, eps, 1.0 - eps)))


_KERNELS: dict[str, Kernel] = {
    "accuracy": _accuracy,
    "precision_macro": _macro("precision"),
    "recall_macro": _macro("recall"),
    "f1_macro": _macro("f1"),
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "rmse": _rmse,
    "mae": _mae,
    "r2": _r2,
}
_BUILTINS: dict[str, Metric] = {**builtin_metrics("classification"), **builtin_metrics("regression")}
