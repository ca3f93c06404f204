"""model_size_mb on the trusted side: the size of a real saved model's pickle, nothing for what is not a
regular file, and the job's evaluation with the measured sizes in place of anything the job claimed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.tree import DecisionTreeClassifier

from pipelines.job.files import JobEvaluation
from pipelines.model_size import saved_model_mb, with_model_size
from tests.fixtures.saved_models import saved_model


def test_the_size_of_a_saved_model_is_its_pickle_in_mb(tmp_path: Path) -> None:
    folder = saved_model(DecisionTreeClassifier(random_state=0).fit([[0], [1], [2]], [0, 1, 1]))
    (folder / "MLmodel").write_text("flavors: {}\n" * 1000)  # MLflow's metadata does not count
    assert saved_model_mb(folder) == (folder / "model.pkl").stat().st_size / 1_000_000
    assert saved_model_mb(tmp_path) is None  # no model.pkl
    (tmp_path / "model.pkl").symlink_to(folder / "model.pkl")
    assert saved_model_mb(tmp_path) is None  # a link is not the model's file


def evaluation(champion: dict[str, float] | None) -> JobEvaluation:
    return JobEvaluation(model_name="m", task="classification",
                         candidate={"accuracy": 0.9, "model_size_mb": 0.0, "predict_latency_ms": 1.5},
                         champion=champion, higher_is_better={"accuracy": True, "model_size_mb": True,
                                                              "predict_latency_ms": True})


@pytest.mark.parametrize(("champion", "candidate_mb", "champion_mb", "expected_champion"), [
    ({"accuracy": 0.8, "model_size_mb": 99.0}, 2.5, 3.0, {"accuracy": 0.8, "model_size_mb": 3.0}),
    ({"accuracy": 0.8}, 2.5, None, {"accuracy": 0.8}),  # its files had no model.pkl: no size
    (None, 2.5, 3.0, None),  # no usable champion: its size alone makes no comparison
], ids=["both measured", "champion without a pickle", "no champion"])
def test_measured_sizes_replace_what_the_job_reported(
    champion: dict[str, float] | None, candidate_mb: float, champion_mb: float | None,
    expected_champion: dict[str, float] | None,
) -> None:
    sized = with_model_size(evaluation(champion), candidate_mb, champion_mb)
    assert sized.candidate == {"accuracy": 0.9, "predict_latency_ms": 1.5, "model_size_mb": 2.5}
    assert sized.champion == expected_champion
    assert sized.higher_is_better == {"accuracy": True, "predict_latency_ms": False, "model_size_mb": False}
