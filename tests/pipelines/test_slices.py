"""Slices: grouping by a column or a function, metrics per slice (None where undefined), and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.config import GateRule, SliceSpec
from pipelines.gates import evaluate_gates
from pipelines.metrics import Evaluation, builtin_metrics, compute_metrics
from pipelines.slices import MAX_VALUES, SliceError, SliceRow, compute_slices, slice_labels

METRICS = [builtin_metrics("classification")[name] for name in ("accuracy", "roc_auc")]
X = pd.DataFrame({
    "region": ["north"] * 4 + ["south"] * 4 + [None] * 2,
    "amount": [5, 50, 500, 5000] * 2 + [1, 2],
})
Y = np.array([0, 1, 0, 1, 1, 1, 1, 1, 0, 1])
CANDIDATE_PRED = np.array([0, 1, 0, 1, 1, 1, 1, 0, 0, 1])
CHAMPION_PRED = np.array([0, 1, 1, 0, 1, 1, 1, 1, 0, 1])
SCORES = np.column_stack([1 - np.linspace(0, 1, 10), np.linspace(0, 1, 10)])


def model(pred: np.ndarray) -> Evaluation:
    return Evaluation(compute_metrics(METRICS, Y, pred, SCORES), pred, SCORES)


def big_orders(X_eval: pd.DataFrame) -> Any:
    return np.where(X_eval["amount"] >= 500, "big", "small")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "slices:big_orders": big_orders,
    "slices:short": lambda X_eval: ["a"] * 3,
    "slices:broken": lambda X_eval: 1 / 0,
}


def importer(ref: str) -> Callable[..., Any]:
    return FUNCTIONS[ref]


def rows_of(table: list[SliceRow], metric: str) -> dict[str, tuple[int, float | None, float | None]]:
    return {row.label: (row.rows, row.candidate, row.champion) for row in table if row.metric == metric}


def test_slices_by_column_with_missing_values() -> None:
    table = compute_slices([SliceSpec(name="region", column="region")], X, Y, METRICS,
                           model(CANDIDATE_PRED), model(CHAMPION_PRED), importer)
    assert rows_of(table, "accuracy") == {
        "region=(missing)": (2, 1.0, 1.0),
        "region=north": (4, 1.0, 0.5),
        "region=south": (4, 0.75, 1.0),
    }
    north = next(row for row in table if row.label == "region=north" and row.metric == "accuracy")
    assert north.delta == 0.5
    assert north.as_dict() == {"slice": "region", "value": "north", "rows": 4, "metric": "accuracy",
                               "candidate": 1.0, "champion": 0.5, "delta": 0.5}
    # south holds one class only: ROC AUC is undefined there, for both models
    assert rows_of(table, "roc_auc")["region=south"] == (4, None, None)
    assert [(row.label, row.metric) for row in table][:2] == [("region=(missing)", "accuracy"),
                                                            ("region=(missing)", "roc_auc")]


def test_slices_by_function_without_a_champion() -> None:
    table = compute_slices([SliceSpec(name="size", function="slices:big_orders")], X, Y, METRICS,
                           model(CANDIDATE_PRED), None, importer)
    assert rows_of(table, "accuracy") == {"size=big": (4, 0.75, None), "size=small": (6, 1.0, None)}
    assert all(row.delta is None for row in table)


def test_several_slice_sets_feed_a_slice_gate() -> None:
    specs = [SliceSpec(name="region", column="region"), SliceSpec(name="size", function="slices:big_orders")]
    table = compute_slices(specs, X, Y, METRICS, model(CANDIDATE_PRED), model(CHAMPION_PRED), importer)
    assert {row.slice for row in table} == {"region", "size"}
    rule = GateRule(metric="accuracy", max_slice_regression=0.1, min_rows=3)
    result = evaluate_gates([rule], {"accuracy": 0.9}, {"accuracy": 0.9}, {"accuracy": True},
                            slices=table).results[0]
    assert not result.passed
    assert result.slice == "region=south"
    assert result.reason == "region=south: accuracy 0.750 vs champion 1.000 (\u22120.250, max 0.1)"


@pytest.mark.parametrize(
    ("spec", "X_eval", "message"),
    [
        (SliceSpec(name="zone", column="zone"), X,
         "slice 'zone': X_eval has no column 'zone' (columns: region, amount)"),
        (SliceSpec(name="region", column="region"), X.to_numpy(),
         "slice 'region': column slices need X_eval as a pandas DataFrame (got ndarray)"),
        (SliceSpec(name="short", function="slices:short"), X,
         "slice 'short': slices:short returned 3 labels for 10 evaluation rows (expected one label per row)"),
        (SliceSpec(name="broken", function="slices:broken"), X,
         "slice 'broken': slices:broken raised ZeroDivisionError: division by zero"),
    ],
    ids=["unknown column", "not a data frame", "wrong length", "raising function"],
)
def test_slices_that_do_not_fit_the_data(spec: SliceSpec, X_eval: Any, message: str) -> None:
    with pytest.raises(SliceError) as caught:
        slice_labels(spec, X_eval, importer)
    assert str(caught.value) == message


def test_only_the_largest_values_are_kept() -> None:
    many = pd.DataFrame({"id": [f"c{n:03d}" for n in range(MAX_VALUES + 10)] + ["c999"] * 5})
    y = np.zeros(len(many), dtype=int)
    table = compute_slices([SliceSpec(name="customer", column="id")], many, y, METRICS[:1],
                           Evaluation({}, y), None, importer)
    assert len(table) == MAX_VALUES
    assert "customer=c999" in {row.label for row in table}
