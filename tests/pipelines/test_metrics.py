"""Builtin metrics on hand-computable arrays, custom metrics from a real module, and metric errors."""

import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.metrics import log_loss, roc_auc_score

from pipelines.config import ModelgateConfig, parse_config
from pipelines.metrics import Metric, MetricError, builtin_metrics, compute_metrics, resolve_metrics

CLASSIFICATION = builtin_metrics("classification")
REGRESSION = builtin_metrics("regression")


def value(metrics: dict[str, Metric], name: str, y_true: Any, y_pred: Any, y_score: Any = None) -> float:
    result = compute_metrics([metrics[name]], y_true, y_pred, y_score)[name]
    assert type(result) is float
    return result


def test_builtin_names_and_directions() -> None:
    assert {name: (m.higher_is_better, m.needs_score) for name, m in CLASSIFICATION.items()} == {
        "accuracy": (True, False),
        "precision_macro": (True, False),
        "recall_macro": (True, False),
        "f1_macro": (True, False),
        "roc_auc": (True, True),
        "log_loss": (False, True),
    }
    assert {name: (m.higher_is_better, m.needs_score) for name, m in REGRESSION.items()} == {
        "rmse": (False, False),
        "mae": (False, False),
        "r2": (True, False),
    }
    with pytest.raises(ValueError, match=r"unknown task 'clustering' \(tasks: classification, regression\)"):
        builtin_metrics("clustering")


# [0, 1, 1, 0] vs [0, 1, 0, 0]: class 0 precision 2/3, recall 1; class 1 precision 1, recall 1/2
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("accuracy", 0.75),
        ("precision_macro", (2 / 3 + 1) / 2),
        ("recall_macro", (1 + 1 / 2) / 2),
        ("f1_macro", (0.8 + 2 / 3) / 2),
    ],
)
def test_label_metrics(name: str, expected: float) -> None:
    assert value(CLASSIFICATION, name, [0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx(expected, abs=1e-12)


def test_macro_metrics_count_a_never_predicted_class_as_zero() -> None:
    # class 2 is never predicted: its precision is 0 (zero_division=0) instead of a warning
    assert value(CLASSIFICATION, "precision_macro", [0, 1, 2], [0, 1, 1]) == pytest.approx((1 + 0.5 + 0) / 3)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rmse", math.sqrt((1 + 4 + 0 + 9) / 4)),  # residuals 1, -2, 0, 3
        ("mae", (1 + 2 + 0 + 3) / 4),
        ("r2", 1 - 14 / 20),  # y_true mean 5: total sum of squares 9 + 1 + 1 + 9
    ],
)
def test_regression_metrics(name: str, expected: float) -> None:
    assert value(REGRESSION, name, [2.0, 4.0, 6.0, 8.0], [1.0, 6.0, 6.0, 5.0]) == pytest.approx(
        expected, abs=1e-12
    )


BINARY_TRUE = [0, 0, 1, 1, 1, 0]
BINARY_PROBA = np.array([[0.9, 0.1], [0.6, 0.4], [0.35, 0.65], [0.2, 0.8], [0.7, 0.3], [0.45, 0.55]])


@pytest.mark.parametrize(
    "scores", [BINARY_PROBA, BINARY_PROBA[:, 1], BINARY_PROBA[:, 1].tolist()], ids=["n2", "n", "list"]
)
def test_binary_roc_auc_and_log_loss(scores: Any) -> None:
    # 9 positive/negative pairs, the positive scored 0.3 loses against 0.4 and 0.55: 7/9
    assert value(CLASSIFICATION, "roc_auc", BINARY_TRUE, None, scores) == pytest.approx(7 / 9, abs=1e-12)
    expected_log_loss = log_loss(BINARY_TRUE, BINARY_PROBA)
    assert value(CLASSIFICATION, "log_loss", BINARY_TRUE, None, scores) == pytest.approx(
        expected_log_loss, abs=1e-12
    )


def test_multiclass_roc_auc_is_one_vs_rest_macro() -> None:
    y_true = [0, 1, 2, 2, 1, 0, 1]
    proba = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.2, 0.5, 0.3],
            [0.1, 0.3, 0.6],
            [0.3, 0.4, 0.3],
            [0.5, 0.3, 0.2],
            [0.6, 0.1, 0.3],
            [0.1, 0.8, 0.1],
        ]
    )
    expected = roc_auc_score(y_true, proba, multi_class="ovr", average="macro")
    assert value(CLASSIFICATION, "roc_auc", y_true, None, proba) == pytest.approx(expected, abs=1e-12)
    assert value(CLASSIFICATION, "log_loss", y_true, None, proba) == pytest.approx(
        log_loss(y_true, proba), abs=1e-12
    )


def test_a_metric_needing_scores_without_predict_proba() -> None:
    with pytest.raises(MetricError) as caught:
        compute_metrics(list(CLASSIFICATION.values()), [0, 1], [0, 1], None)
    assert str(caught.value) == (
        "metric 'roc_auc' needs predicted probabilities, but the model has no predict_proba "
        "(remove roc_auc from metrics or use a model with predict_proba)"
    )


def test_a_failing_computation_names_the_metric() -> None:
    three_columns = [[0.2, 0.3, 0.5]] * 3  # the eval set lacks a class the model knows
    with pytest.raises(
        MetricError, match=r"^metric 'roc_auc' could not be computed: ValueError: Number of classes"
    ):
        compute_metrics([CLASSIFICATION["roc_auc"]], [0, 1, 0], [0, 1, 0], three_columns)


CUSTOM_MODULE = '''\
def balanced_error(y_true, y_pred, y_score):
    """Share of wrong predictions, lower is better."""
    return sum(t != p for t, p in zip(y_true, y_pred)) / len(y_true)


def has_scores(y_true, y_pred, y_score):
    return 0.0 if y_score is None else 1.0


def verdict(y_true, y_pred, y_score):
    return "good"


NOT_A_FUNCTION = 3
'''


def import_from(repo: Path) -> Callable[[str], Callable[..., Any]]:
    """A small import_function: "module:function" from a file in the repository directory."""

    def import_function(reference: str) -> Callable[..., Any]:
        module_name, function_name = reference.split(":")
        spec = importlib.util.spec_from_file_location(module_name, repo / f"{module_name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result: Callable[..., Any] = getattr(module, function_name)
        return result

    return import_function


def config_with(metrics: list[Any]) -> ModelgateConfig:
    model = {"name": "m", "task": "classification", "train": "model:train"}
    data = {"staging": "data:a", "production": "data:b"}
    return parse_config(yaml.safe_dump({"model": model, "data": data, "metrics": metrics}))


def test_custom_metric_from_a_repository_module(tmp_path: Path) -> None:
    (tmp_path / "repo_metrics.py").write_text(CUSTOM_MODULE)
    config = config_with(
        [
            "accuracy",
            {"name": "error", "function": "repo_metrics:balanced_error", "higher_is_better": False},
            {"name": "scored", "function": "repo_metrics:has_scores"},
        ]
    )
    metrics = resolve_metrics(config, import_from(tmp_path))
    assert [(m.name, m.higher_is_better, m.needs_score) for m in metrics] == [
        ("accuracy", True, False),
        ("error", False, False),
        ("scored", True, False),
    ]
    assert metrics[0] is CLASSIFICATION["accuracy"]
    assert compute_metrics(metrics, [0, 1, 1, 0], [0, 1, 0, 0], None) == {
        "accuracy": 0.75,
        "error": 0.25,
        "scored": 0.0,
    }
    assert compute_metrics(metrics[2:], [0], [0], [0.5])["scored"] == 1.0


def test_custom_metric_errors(tmp_path: Path) -> None:
    (tmp_path / "repo_metrics.py").write_text(CUSTOM_MODULE)
    import_function = import_from(tmp_path)
    not_callable = config_with([{"name": "three", "function": "repo_metrics:NOT_A_FUNCTION"}])
    with pytest.raises(
        MetricError, match=r"^custom metric 'three': repo_metrics:NOT_A_FUNCTION is not callable$"
    ):
        resolve_metrics(not_callable, import_function)
    [verdict] = resolve_metrics(
        config_with([{"name": "verdict", "function": "repo_metrics:verdict"}]), import_function
    )
    with pytest.raises(MetricError, match=r"^metric 'verdict' returned 'good', expected a number$"):
        compute_metrics([verdict], [0], [0], None)


def test_an_unvalidated_config_with_an_unknown_builtin() -> None:
    config = config_with(["accuracy"]).model_copy(update={"metrics": ["accuracy", "rmse"]})
    with pytest.raises(MetricError, match=r"^unknown classification metric 'rmse'$"):
        resolve_metrics(config, import_from(Path()))
