"""The model's own metrics in the configuration: accepted in gates without a metrics entry, listed in
metrics for every task, left out of the prediction metrics, latency measured only when named; and the
tolerance that makes two measurements equal, as a table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.checkout import import_function, repo_imports
from pipelines.config import parse_config
from pipelines.metrics import resolve_metrics
from pipelines.model_metrics import (
    MODEL_SIZE,
    PREDICT_LATENCY,
    TOLERANCES,
    latency_wanted,
    model_metric_directions,
)
from tests.fixtures.config_cases import EXAMPLE, EXAMPLE_DATA

ISSUE_GATES = """\
gates:
  staging:
    - {metric: predict_latency_ms, max: 5}
    - {metric: model_size_mb, max_regression: 10}
"""


Gates = Sequence[dict[str, Any]]


def config(metrics: list[Any], staging: Gates = (), production: Gates = (), task: str = "classification"
           ) -> Any:
    data = {**EXAMPLE_DATA, "model": {**EXAMPLE_DATA["model"], "task": task}, "metrics": metrics,
            "gates": {"staging": list(staging), "production": list(production)}}
    return parse_config(yaml.safe_dump(data))


def test_the_issue_example_gates_parse_without_a_metrics_entry() -> None:
    parsed = parse_config(EXAMPLE.split("gates:")[0] + ISSUE_GATES)
    assert parsed.metric_names() == ["accuracy", "f1_macro", "roc_auc"]
    assert [(gate.metric, gate.rule, gate.threshold) for gate in parsed.gates.staging] == [
        (PREDICT_LATENCY, "max", 5.0), (MODEL_SIZE, "max_regression", 10.0)]
    assert latency_wanted(parsed)


LATENCY = {"metric": PREDICT_LATENCY, "max": 5}
SIZE = {"metric": MODEL_SIZE, "max": 5}


@pytest.mark.parametrize(("metrics", "staging", "production", "wanted"), [
    (["accuracy"], [], [], False),
    (["accuracy"], [SIZE], [], False),
    (["accuracy", MODEL_SIZE], [], [], False),
    (["accuracy", PREDICT_LATENCY], [], [], True),
    (["accuracy"], [LATENCY], [], True),
    (["accuracy"], [], [LATENCY], True),  # any stage: staging and production report the same metrics
], ids=["not named", "size gated", "size listed", "latency listed", "latency gated in staging",
        "latency gated in production"])
def test_latency_is_measured_only_when_named(
    metrics: list[str], staging: list[dict[str, Any]], production: list[dict[str, Any]], wanted: bool
) -> None:
    assert latency_wanted(config(metrics, staging, production)) is wanted


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_model_metrics_are_listed_for_every_task_and_left_out_of_prediction_metrics(
    task: str, tmp_path: Path
) -> None:
    first = "accuracy" if task == "classification" else "rmse"
    parsed = config([first, PREDICT_LATENCY, MODEL_SIZE], [{"metric": MODEL_SIZE, "must_beat": 0}], task=task)
    assert parsed.metric_names() == [first, PREDICT_LATENCY, MODEL_SIZE]
    with repo_imports(tmp_path):
        assert [metric.name for metric in resolve_metrics(parsed, import_function)] == [first]


def test_model_metrics_are_lower_is_better() -> None:
    assert model_metric_directions(["accuracy", MODEL_SIZE, "rmse", PREDICT_LATENCY]) == {
        MODEL_SIZE: False, PREDICT_LATENCY: False}


# (metric, candidate, champion, same): latency 5% or 0.05 ms, size 1% or 0.01 MB, whichever is larger
TOLERANCE_CASES = [
    (PREDICT_LATENCY, 1.0, 1.0, True),
    (PREDICT_LATENCY, 1.05, 1.0, True),  # the 0.05 ms floor (5% of 1 ms is the same here)
    (PREDICT_LATENCY, 1.051, 1.0, False),
    (PREDICT_LATENCY, 0.949, 1.0, False),
    (PREDICT_LATENCY, 0.14, 0.1, True),  # the floor: 40% of a tiny latency is still noise
    (PREDICT_LATENCY, 0.16, 0.1, False),
    (PREDICT_LATENCY, 10.5, 10.0, True),  # 5% of 10 ms
    (PREDICT_LATENCY, 9.5, 10.0, True),
    (PREDICT_LATENCY, 10.6, 10.0, False),
    (PREDICT_LATENCY, 9.4, 10.0, False),
    (MODEL_SIZE, 0.011, 0.002, True),  # the 0.01 MB floor: pickles of tiny models differ by bytes
    (MODEL_SIZE, 0.013, 0.002, False),
    (MODEL_SIZE, 101.0, 100.0, True),  # 1% of 100 MB
    (MODEL_SIZE, 101.5, 100.0, False),
]


@pytest.mark.parametrize(("metric", "candidate", "champion", "same"), TOLERANCE_CASES,
                         ids=[f"{m} {a} vs {b}" for m, a, b, _ in TOLERANCE_CASES])
def test_the_tolerance_of_measured_metrics(
    metric: str, candidate: float, champion: float, same: bool
) -> None:
    assert TOLERANCES[metric].same(candidate, champion) is same


def test_the_tolerance_describes_itself() -> None:
    assert TOLERANCES[PREDICT_LATENCY].describe() == "5% or 0.05 ms"
    assert TOLERANCES[MODEL_SIZE].describe() == "1% or 0.01 MB"
