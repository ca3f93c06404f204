"""predict_latency_ms's measurement: p95 by nearest rank, one-row slices of each kind of data, rounds
interleaved in alternating order with the median of their p95s (on a clock the models advance, so the
numbers are exact), and real scikit-learn models timed on real rows (no assertion on their speed)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from pipelines.latency import WARMUP, measure_latency, p95, single_rows


@pytest.mark.parametrize(("samples", "expected"), [
    ([5.0], 5.0),
    ([3.0, 1.0, 2.0], 3.0),
    (list(range(1, 21)), 19),  # ceil(0.95 * 20) = 19th smallest
    (list(range(1, 101)), 95),
    (list(range(200, 0, -1)), 190),
    ([1.0] * 189 + [50.0] * 11, 50.0),  # 11 slow calls of 200 are more than 5%: they show
    ([1.0] * 190 + [50.0] * 10, 1.0),  # 10 are not
])
def test_p95_by_nearest_rank(samples: list[float], expected: float) -> None:
    assert p95(samples) == expected


def test_p95_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        p95([])


def test_single_rows_keep_the_kind_of_data() -> None:
    frame = pd.DataFrame({"a": range(5), "b": [0.5] * 5})
    rows = single_rows(frame, 3)
    assert [type(row) for row in rows] == [pd.DataFrame] * 3
    assert [row.shape for row in rows] == [(1, 2)] * 3 and list(rows[2].index) == [2]
    arrays = single_rows(np.arange(12).reshape(6, 2), 200)  # fewer rows than asked: all of them
    assert len(arrays) == 6 and all(row.shape == (1, 2) for row in arrays)
    np.testing.assert_array_equal(arrays[5], [[10, 11]])


class Clock:
    """Nanoseconds that pass only when a model predicts."""

    def __init__(self) -> None:
        self.now = 0
        self.calls: list[str] = []

    def __call__(self) -> int:
        return self.now


class SteppingModel:
    """Each predict takes ``costs[call]`` ms (the last one repeating) on the clock, and is logged."""

    def __init__(self, name: str, clock: Clock, costs: list[float]) -> None:
        self.name, self.clock, self.costs = name, clock, costs

    def predict(self, X: Any) -> Any:
        cost = self.costs[min(len(self.clock_calls()), len(self.costs) - 1)]
        self.clock.calls.append(self.name)
        self.clock.now += round(cost * 1e6)
        return np.zeros(len(X))

    def clock_calls(self) -> list[str]:
        return [name for name in self.clock.calls if name == self.name]


def test_rounds_alternate_and_the_median_of_their_p95s_is_reported() -> None:
    clock = Clock()
    rows = 20
    warm = [0.001] * WARMUP
    # candidate: round p95s 2, 9 (a slow phase), 3 -> median 3; champion: p95s 4, 4, 4 -> 4
    candidate = SteppingModel("candidate", clock, warm + [2.0] * rows + [9.0] * rows + [3.0] * rows)
    champion = SteppingModel("champion", clock, [*warm, 4.0])
    X = np.zeros((50, 3))
    measured = measure_latency({"candidate": candidate, "champion": champion}, X, rows=rows, repeats=3,
                               clock=clock)
    assert measured.ms == {"candidate": 3.0, "champion": 4.0} and measured.errors == {}
    blocks = [clock.calls[i] for i in range(2 * WARMUP, len(clock.calls), rows)]
    assert clock.calls[: 2 * WARMUP] == ["candidate"] * WARMUP + ["champion"] * WARMUP
    assert blocks == ["candidate", "champion", "champion", "candidate", "candidate", "champion"]
    assert len(clock.calls) == 2 * (WARMUP + 3 * rows)


class OneRowRefused:
    """A model that cannot predict a single row (it wants a batch)."""

    def predict(self, X: Any) -> Any:
        if len(X) == 1:
            raise ValueError("expected a batch")
        return np.zeros(len(X))


class FailsLater:
    """A model that fails on its 30th call: after the warm-up, in a timed round."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, X: Any) -> Any:
        self.calls += 1
        if self.calls == 30:
            raise RuntimeError("out of memory")
        return np.zeros(len(X))


def test_real_models_are_timed_and_a_model_that_cannot_predict_one_row_is_named() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=list("abcd"))
    y = (X["a"] + X["b"] > 0).astype(int)
    models = {"logistic": LogisticRegression().fit(X, y), "tree": DecisionTreeClassifier().fit(X, y),
              "batch only": OneRowRefused(), "fails later": FailsLater()}
    measured = measure_latency(models, X, rows=30)
    assert set(measured.ms) == {"logistic", "tree"}
    assert all(math.isfinite(ms) and ms > 0 for ms in measured.ms.values())
    assert measured.errors == {"batch only": "single-row predict failed: ValueError: expected a batch",
                               "fails later": "single-row predict failed: RuntimeError: out of memory"}
