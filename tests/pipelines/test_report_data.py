"""Report data: exactly the renderer's keys, plot data for classifiers and regressors, and errors."""

from __future__ import annotations

import json
from typing import Any, get_type_hints

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from pipelines.bootstrap import paired_bootstrap
from pipelines.config import GateRule
from pipelines.gates import evaluate_gates
from pipelines.metrics import Evaluation, builtin_metrics, compute_metrics
from pipelines.report_data import report_data
from pipelines.report_plots import CURVE_POINTS, REGRESSION_ROWS, classification_plots, regression_plots
from pipelines.result import PipelineResult
from pipelines.slices import SliceRow
from reports.types import ClassificationPlots, Curve, GateRow, MetricRow, RegressionPlots, ReportData
from reports.types import SliceRow as SliceRowType

TAGS = {"modelgate.repository": "acme/wine", "modelgate.sha": "abc123", "modelgate.pr": "7"}
CLASSIFICATION = [builtin_metrics("classification")[name] for name in ("accuracy", "f1_macro", "roc_auc")]


def keys(typed_dict: Any) -> set[str]:
    return set(get_type_hints(typed_dict))


def fitted(model: Any, X: Any, y: Any, metrics: list[Any]) -> Evaluation:
    pred = model.predict(X)
    score = model.predict_proba(X) if hasattr(model, "predict_proba") else None
    return Evaluation(compute_metrics(metrics, y, pred, score), pred, score, getattr(model, "classes_", None))


def iris(classes: int) -> tuple[Any, Any, Evaluation, Evaluation]:
    X, y = load_iris(return_X_y=True)
    X, y = X[y < classes], y[y < classes]
    strong = LogisticRegression(max_iter=1000).fit(X, y)
    weak = LogisticRegression(max_iter=1000).fit(X[:, :1], y)
    return X, y, fitted(strong, X, y, CLASSIFICATION), fitted(weak, X[:, :1], y, CLASSIFICATION)


def assert_curve(curve: dict[str, Any]) -> None:
    assert set(curve) == keys(Curve)
    assert 2 <= len(curve["x"]) == len(curve["y"]) <= CURVE_POINTS
    assert all(0.0 <= value <= 1.0 for value in [*curve["x"], *curve["y"], curve["auc"]])


@pytest.mark.parametrize("classes", [2, 3], ids=["binary", "multiclass"])
def test_classification_plots(classes: int) -> None:
    _, y, candidate, champion = iris(classes)
    plots = classification_plots(y, candidate, champion)
    assert plots is not None and set(plots) == keys(ClassificationPlots)
    assert plots["labels"] == [str(label) for label in range(classes)]
    for matrix in (plots["confusion_candidate"], plots["confusion_champion"]):
        assert np.array(matrix).shape == (classes, classes)
        assert sum(map(sum, matrix)) == len(y)
        assert all(isinstance(count, int) for row in matrix for count in row)
    assert np.trace(plots["confusion_candidate"]) == round(candidate.values["accuracy"] * len(y))
    for kind in ("roc", "pr"):
        assert set(plots[kind]) == {"candidate", "champion"}
        assert_curve(plots[kind]["candidate"])
        assert_curve(plots[kind]["champion"])
    assert plots["roc"]["candidate"]["auc"] > plots["roc"]["champion"]["auc"]
    if classes == 2:  # binary: the positive class's curve, so its AUC is the roc_auc metric
        assert plots["roc"]["candidate"]["auc"] == pytest.approx(candidate.values["roc_auc"])


def test_classification_plots_without_scores_or_champion() -> None:
    _, y, candidate, _ = iris(3)
    plots = classification_plots(y, Evaluation({}, candidate.y_pred), None)
    assert plots is not None
    assert (plots["roc"], plots["pr"], plots["confusion_champion"]) == (None, None, None)


def test_long_curves_are_decimated() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    scores = np.clip(y * 0.3 + rng.random(3000), 0, 1)
    model = Evaluation({}, (scores > 0.6).astype(int), scores)
    plots = classification_plots(y, model, None)
    assert plots is not None and plots["roc"] is not None
    curve = plots["roc"]["candidate"]
    assert len(curve["x"]) == CURVE_POINTS
    assert (curve["x"][0], curve["y"][0], curve["x"][-1], curve["y"][-1]) == (0.0, 0.0, 1.0, 1.0)


def test_regression_plots_are_capped_and_deterministic() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(REGRESSION_ROWS + 500, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=len(X))
    ours = fitted(LinearRegression().fit(X, y), X, y, [])
    theirs = fitted(LinearRegression().fit(X[:, :1], y), X[:, :1], y, [])
    plots = regression_plots(y, ours, theirs)
    assert plots is not None and set(plots) == keys(RegressionPlots)
    assert len(plots["y_true"]) == len(plots["candidate"]) == len(plots["champion"]) == REGRESSION_ROWS
    assert all(isinstance(value, float) for value in plots["y_true"][:10])
    assert plots == regression_plots(y, ours, theirs)
    small = regression_plots(y[:40], Evaluation({}, ours.y_pred[:40]), None)
    assert small is not None and small["y_true"] == y[:40].tolist() and small["champion"] is None


def passed_result(candidate: Evaluation, champion: Evaluation, gates: list[dict[str, Any]]) -> PipelineResult:
    return PipelineResult(
        status="passed", kind="staging", model_name="iris",
        metrics={"candidate": candidate.values, "champion": champion.values},
        gates=gates, higher_is_better={m.name: m.higher_is_better for m in CLASSIFICATION},
        champion_version=3, mlflow_run_id="run-1",
    )


def test_report_data_of_a_classifier() -> None:
    _, y, candidate, champion = iris(3)
    intervals = paired_bootstrap(CLASSIFICATION, y, candidate, champion)
    rule = GateRule(metric="f1_macro", must_beat=0, significant=True)
    higher = {m.name: m.higher_is_better for m in CLASSIFICATION}
    bounds = {name: (i.ci_low, i.ci_high) for name, i in intervals.items() if i.ci_low is not None}
    decision = evaluate_gates([rule], candidate.values, champion.values, higher, intervals=bounds)
    result = passed_result(candidate, champion, [gate.as_dict() for gate in decision.results])
    slices = [SliceRow("petal", "wide", 30, "accuracy", 1.0, 0.9, 0.1)]
    history = [{"version": 3, "when": "2026-01-01T00:00:00+00:00", "metric": "accuracy", "value": 0.9}]
    data = report_data(result, TAGS, "classification", intervals, slices,
                       classification_plots(y, candidate, champion), None, history)
    assert set(data) == keys(ReportData)
    assert (data["repository"], data["sha"], data["pr"]) == ("acme/wine", "abc123", 7)
    assert (data["task"], data["champion_version"], data["mlflow_run_id"]) == ("classification", 3, "run-1")
    assert data["summary_line"] == result.summary_line()
    assert data["links"] == {"mlflow_run": None, "log": None, "commit": None, "full_report": None}
    assert data["outcome"] is None and data["regression"] is None and data["history"] == history
    assert [row["name"] for row in data["metrics"]] == ["accuracy", "f1_macro", "roc_auc"]
    for row in data["metrics"]:
        assert set(row) == keys(MetricRow)
        assert row["ci_low"] is not None and row["ci_low"] <= row["delta"] <= row["ci_high"]
    [gate] = data["gates"]
    assert set(gate) == keys(GateRow)
    assert gate["significant"] and (gate["ci_low"], gate["ci_high"]) == bounds["f1_macro"]
    assert [set(row) for row in data["slices"]] == [keys(SliceRowType)]
    json.dumps(data)  # JSON-ready as is


def test_report_data_fills_gate_keys_of_older_results() -> None:
    old_gate = {"metric": "accuracy", "rule": "min", "threshold": 0.8, "candidate": 0.9, "champion": None,
                "passed": True, "reason": "accuracy 0.900 >= 0.8"}
    result = PipelineResult(status="passed", kind="staging", metrics={"candidate": {"accuracy": 0.9},
                            "champion": None}, gates=[old_gate], higher_is_better={"accuracy": True})
    data = report_data(result)
    new_keys = {"significant": False, "ci_low": None, "ci_high": None, "slice": None}
    assert data["gates"] == [{**old_gate, **new_keys}]
    assert data["metrics"] == [{"name": "accuracy", "higher_is_better": True, "candidate": 0.9,
                                "champion": None, "delta": None, "ci_low": None, "ci_high": None}]
    assert (data["repository"], data["sha"], data["pr"], data["task"]) == (None, None, None, None)


def test_report_data_of_an_error() -> None:
    error = "train failed: RuntimeError: boom"
    result = PipelineResult.failure("staging", "train", error, ["line 1", "line 2"], model_name="iris")
    data = report_data(result, {**TAGS, "modelgate.pr": "not-a-number"}, "classification",
                       slices=[SliceRow("s", "v", 1, "accuracy", 1.0, None, None)],
                       classification={"labels": []}, history=[{"version": 1}])
    assert set(data) == keys(ReportData)
    assert (data["status"], data["error_kind"], data["error"]) == ("error", "train", error)
    assert data["summary_line"] == f"error: {error}"
    assert data["log_tail"] == ["line 1", "line 2"] and data["pr"] is None
    assert (data["metrics"], data["gates"], data["slices"], data["history"]) == ([], [], [], [])
    assert (data["classification"], data["regression"]) == (None, None)
