"""Paired bootstrap CIs: known answers, pairing, determinism, undefined resamples, kernels, speed."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from pipelines.bootstrap import MetricInterval, ci_bounds, paired_bootstrap
from pipelines.metrics import Evaluation, Metric, builtin_metrics, compute_metrics, metric_on_rows
from pipelines.resampled import Resamples, resampled_values

CLASSIFICATION = builtin_metrics("classification")
REGRESSION = builtin_metrics("regression")


def evaluation(metrics: list[Metric], y_true: Any, y_pred: Any, y_score: Any = None) -> Evaluation:
    return Evaluation(compute_metrics(metrics, y_true, y_pred, y_score), y_pred, y_score)


def flipped(y: np.ndarray, share: float, seed: int) -> np.ndarray:
    """y with the labels of a random ``share`` of the rows flipped (binary)."""
    rows = np.random.default_rng(seed).random(y.size) < share
    return np.where(rows, 1 - y, y)


Y_BINARY = np.random.default_rng(1).integers(0, 2, 400)


def test_a_clearly_better_candidate_has_a_ci_above_zero() -> None:
    # candidate right on 95% of the rows, champion on 60%: the whole interval is an improvement
    metrics = [CLASSIFICATION["accuracy"], CLASSIFICATION["f1_macro"]]
    ours = evaluation(metrics, Y_BINARY, flipped(Y_BINARY, 0.05, 2))
    theirs = evaluation(metrics, Y_BINARY, flipped(Y_BINARY, 0.4, 3))
    intervals = paired_bootstrap(metrics, Y_BINARY, ours, theirs)
    for name in ("accuracy", "f1_macro"):
        interval = intervals[name]
        assert interval.delta == pytest.approx(ours.values[name] - theirs.values[name])
        assert interval.ci_low is not None and interval.ci_high is not None
        assert 0 < interval.ci_low < interval.delta < interval.ci_high
        assert interval.resamples == 1000


def test_models_of_equal_skill_have_a_ci_around_zero() -> None:
    metrics = [CLASSIFICATION["accuracy"]]
    ours = evaluation(metrics, Y_BINARY, flipped(Y_BINARY, 0.2, 4))
    theirs = evaluation(metrics, Y_BINARY, flipped(Y_BINARY, 0.2, 5))
    interval = paired_bootstrap(metrics, Y_BINARY, ours, theirs)["accuracy"]
    assert interval.ci_low is not None and interval.ci_high is not None
    assert interval.ci_low < 0 < interval.ci_high


def test_identical_models_differ_by_exactly_zero() -> None:
    metrics = list(CLASSIFICATION.values())
    scores = np.column_stack([1 - np.linspace(0.1, 0.9, Y_BINARY.size), np.linspace(0.1, 0.9, Y_BINARY.size)])
    same = evaluation(metrics, Y_BINARY, flipped(Y_BINARY, 0.1, 6), scores)
    intervals = paired_bootstrap(metrics, Y_BINARY, same, same)
    assert {name: (i.delta, i.ci_low, i.ci_high) for name, i in intervals.items()} == {
        name: (0.0, 0.0, 0.0) for name in CLASSIFICATION
    }


def test_lower_is_better_metrics_count_a_smaller_error_as_an_improvement() -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(size=300)
    metrics = list(REGRESSION.values())
    ours = evaluation(metrics, y, y + rng.normal(scale=0.1, size=300))
    theirs = evaluation(metrics, y, y + rng.normal(scale=1.0, size=300))
    intervals = paired_bootstrap(metrics, y, ours, theirs)
    assert intervals["rmse"].delta == pytest.approx(theirs.values["rmse"] - ours.values["rmse"])
    for interval in intervals.values():
        assert interval.ci_low is not None and interval.ci_low > 0, interval


def test_resamples_are_paired_and_deterministic() -> None:
    seen: list[tuple[int, ...]] = []

    def recording(y_true: Any, y_pred: Any, y_score: Any) -> float:
        seen.append(tuple(np.asarray(y_true)))  # y_true here is the row ids: the resample itself
        return float(np.mean(y_pred))

    metric = Metric("recording", higher_is_better=True, needs_score=False, compute=recording)
    ids = np.arange(40)
    ours = Evaluation({"recording": 1.0}, np.ones(40))
    theirs = Evaluation({"recording": 0.5}, np.full(40, 0.5))
    first = paired_bootstrap([metric], ids, ours, theirs, resamples=50)
    candidate_rows, champion_rows = seen[:50], seen[50:]
    assert candidate_rows == champion_rows  # the same rows for both models, resample by resample
    assert len(set(candidate_rows)) == 50
    seen.clear()
    assert paired_bootstrap([metric], ids, ours, theirs, resamples=50) == first
    assert seen[:50] == candidate_rows  # same seed, same resamples
    seen.clear()
    paired_bootstrap([metric], ids, ours, theirs, resamples=50, seed=1)
    assert seen[:50] != candidate_rows


def test_the_same_seed_gives_the_same_interval() -> None:
    metrics = list(CLASSIFICATION.values())[:4]
    ours = evaluation(metrics, Y_BINARY, flipped(Y_BINARY, 0.1, 8))
    theirs = evaluation(metrics, Y_BINARY, flipped(Y_BINARY, 0.15, 9))
    first = paired_bootstrap(metrics, Y_BINARY, ours, theirs)
    assert paired_bootstrap(metrics, Y_BINARY, ours, theirs) == first
    assert paired_bootstrap(metrics, Y_BINARY, ours, theirs, seed=3) != first


def test_no_champion_or_no_champion_value_gives_no_interval() -> None:
    metrics = [CLASSIFICATION["accuracy"], CLASSIFICATION["f1_macro"]]
    ours = evaluation(metrics, Y_BINARY, Y_BINARY)
    assert paired_bootstrap(metrics, Y_BINARY, ours, None) == {}
    theirs = Evaluation({"accuracy": 0.5, "f1_macro": math.nan}, flipped(Y_BINARY, 0.5, 1))
    assert list(paired_bootstrap(metrics, Y_BINARY, ours, theirs)) == ["accuracy"]


def test_resamples_where_a_metric_is_undefined_are_skipped() -> None:
    # one positive among 30 rows: about a third of the resamples miss it, and ROC AUC is undefined there
    y = np.zeros(30, dtype=int)
    y[0] = 1
    scores = np.linspace(0.9, 0.1, 30)
    metrics = [CLASSIFICATION["roc_auc"]]
    ours = evaluation(metrics, y, (scores > 0.5).astype(int), scores)
    theirs = evaluation(metrics, y, (scores > 0.5).astype(int), scores[::-1].copy())
    interval = paired_bootstrap(metrics, y, ours, theirs)["roc_auc"]
    assert 500 <= interval.resamples < 800
    assert interval.ci_low is not None and interval.ci_low > 0


def test_too_few_usable_resamples_give_no_interval() -> None:
    calls = itertools.count()

    def flaky(y_true: Any, y_pred: Any, y_score: Any) -> float:
        return 1.0 if next(calls) % 4 == 0 else math.nan  # defined on a quarter of the resamples

    metric = Metric("flaky", higher_is_better=True, needs_score=False, compute=flaky)
    same = Evaluation({"flaky": 1.0}, np.zeros(20))
    interval = paired_bootstrap([metric], np.zeros(20), same, same, resamples=200)["flaky"]
    assert interval == MetricInterval("flaky", 0.0, None, None, interval.resamples)
    assert interval.resamples < 100
    assert ci_bounds({"flaky": interval}) == {}


def test_ci_bounds_keep_the_metrics_with_an_interval() -> None:
    intervals = {
        "a": MetricInterval("a", 0.1, 0.05, 0.15, 1000),
        "b": MetricInterval("b", 0.1, None, None, 10),
    }
    assert ci_bounds(intervals) == {"a": (0.05, 0.15)}


def kernel_cases() -> list[Any]:
    """(metric, y_true, evaluation) params: binary (tied scores), multiclass (string labels), regression."""
    rng = np.random.default_rng(11)
    binary = rng.integers(0, 2, 60)
    binary_scores = np.round(rng.random(60), 1)  # many ties
    labels = np.array(["north", "south", "west"])
    multi = labels[rng.integers(0, 3, 60)]
    multi_scores = rng.dirichlet(np.ones(3), 60)
    target = rng.normal(size=60)
    binary_model = Evaluation({}, flipped(binary, 0.3, 1), binary_scores)
    multi_model = Evaluation({}, labels[multi_scores.argmax(axis=1)], multi_scores)
    regression_model = Evaluation({}, target + rng.normal(size=60))
    cases = [pytest.param(name, binary, binary_model, id=f"binary-{name}") for name in CLASSIFICATION]
    cases += [pytest.param(name, multi, multi_model, id=f"multiclass-{name}") for name in CLASSIFICATION]
    return cases + [pytest.param(name, target, regression_model, id=name) for name in REGRESSION]


@pytest.mark.parametrize(("name", "y_true", "model"), kernel_cases())
def test_vectorised_metrics_agree_with_scikit_learn(name: str, y_true: Any, model: Evaluation) -> None:
    metric = {**CLASSIFICATION, **REGRESSION}[name]
    draws = Resamples(np.random.default_rng(0).integers(0, len(y_true), size=(100, len(y_true))))
    fast = resampled_values(metric, draws, y_true, model)
    assert fast is not None
    slow = np.array([np.nan if (v := metric_on_rows(metric, y_true, model, rows)) is None else v
                     for rows in draws.index])
    defined = ~np.isnan(slow)
    assert defined.sum() > 50
    np.testing.assert_allclose(fast[defined], slow[defined], rtol=1e-9, atol=1e-12)
    if name != "log_loss":  # log_loss stays defined on a resample that misses a class (by design)
        assert np.array_equal(np.isnan(fast), ~defined)


def test_custom_metrics_are_computed_resample_by_resample() -> None:
    metric = Metric("hits", higher_is_better=True, needs_score=False,
                    compute=lambda y_true, y_pred, y_score: float(np.sum(y_true == y_pred)))
    draws = Resamples(np.zeros((3, 4), dtype=int))
    assert resampled_values(metric, draws, np.arange(4), Evaluation({}, np.arange(4))) is None
    renamed = Metric("accuracy", True, False, metric.compute)  # a builtin's name is not enough
    assert resampled_values(renamed, draws, np.arange(4), Evaluation({}, np.arange(4))) is None
