"""Promotion and rollback against a real MLflow registry (tmp sqlite store, tiny sklearn models)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from pipelines.model_files import copy_model_files
from pipelines.promotion import PromotionError, promote, revert, rollback, undo_rollback, version_tags
from pipelines.result import PipelineResult
from pipelines.tracking import Tracker
from tests.fixtures.saved_models import saved_model

pytestmark = pytest.mark.e2e

TAGS = {"repository": "octo/wine", "pr": "7", "merged_by": "alice", "config_hash": "c0ffee"}
X = np.array([[0.0, 0.0], [0.1, 0.2], [1.0, 1.0], [0.9, 1.1]])
Y = np.array([0, 0, 1, 1])


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered model per test (the module shares one tracking store)."""
    return re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]


def candidate(tracking_uri: str, model_name: str, accuracy: float) -> str:
    """Log a tiny fitted model as a candidate run; its run id."""
    result = PipelineResult(status="passed", kind="production", model_name=model_name,
                            metrics={"candidate": {"accuracy": accuracy, "f1_macro": 0.5}, "champion": None})
    model = saved_model(LogisticRegression().fit(X, Y))
    logged = Tracker(tracking_uri).log_candidate(result, model, "c0ffee", TAGS)
    return str(logged.mlflow_run_id)


def aliases(tracking_uri: str, model_name: str) -> dict[str, int]:
    client = Tracker(tracking_uri).client
    return {a: int(v) for a, v in client.get_registered_model(model_name).aliases.items()}


def versions(tracking_uri: str, model_name: str) -> list[int]:
    found = Tracker(tracking_uri).client.search_model_versions(f"name = '{model_name}'")
    return sorted(int(v.version) for v in found)


@pytest.fixture
def two_promoted(tracking_uri: str, model_name: str) -> tuple[str, str]:
    """Versions 1 (sha "aaa1") and 2 (sha "bbb2") promoted in turn; their run ids."""
    first, second = candidate(tracking_uri, model_name, 0.8), candidate(tracking_uri, model_name, 0.9)
    promote(tracking_uri, model_name, first, merge_sha="aaa1", tags=TAGS)
    promote(tracking_uri, model_name, second, merge_sha="bbb2", tags=TAGS)
    return first, second


def test_first_and_second_promotion(tracking_uri: str, model_name: str) -> None:
    first_run = candidate(tracking_uri, model_name, 0.8)
    first = promote(tracking_uri, model_name, first_run, merge_sha="aaa1", tags=TAGS)
    assert (first.version, first.previous_version, first.reused) == (1, None, False)
    assert first.run_id == first_run and first.merge_sha == "aaa1"
    assert aliases(tracking_uri, model_name) == {"champion": 1}

    second_run = candidate(tracking_uri, model_name, 0.9)
    second = promote(tracking_uri, model_name, second_run, merge_sha="bbb2", tags=TAGS)
    assert (second.version, second.previous_version, second.reused) == (2, 1, False)
    assert aliases(tracking_uri, model_name) == {"champion": 2, "previous-champion": 1}
    tags = Tracker(tracking_uri).client.get_model_version(model_name, "2").tags
    assert tags["modelgate.merge_sha"] == "bbb2" and tags["modelgate.run_id"] == second_run
    assert tags["modelgate.metric.accuracy"] == "0.9" and tags["modelgate.metric.f1_macro"] == "0.5"
    assert {key: tags[key] for key in TAGS} == TAGS
    assert tags["modelgate.previous_version"] == "1" and "modelgate.promoted_at" in tags


def test_the_same_merge_sha_is_promoted_once(
    tracking_uri: str, model_name: str, two_promoted: tuple[str, str]
) -> None:
    retry_run = candidate(tracking_uri, model_name, 0.95)
    again = promote(tracking_uri, model_name, retry_run, merge_sha="bbb2", tags=TAGS)
    assert (again.version, again.previous_version, again.reused) == (2, 1, True)
    assert again.run_id == two_promoted[1]  # the run that was promoted, not the retry's
    assert versions(tracking_uri, model_name) == [1, 2]
    assert aliases(tracking_uri, model_name) == {"champion": 2, "previous-champion": 1}

    old = promote(tracking_uri, model_name, retry_run, merge_sha="aaa1", tags=TAGS)  # a late retry
    assert (old.version, old.reused) == (1, True)
    assert aliases(tracking_uri, model_name) == {"champion": 2, "previous-champion": 1}


def test_a_scheduled_run_on_a_promoted_commit_promotes_once_under_its_own_key(
    tracking_uri: str, model_name: str, two_promoted: tuple[str, str]
) -> None:
    fresh = candidate(tracking_uri, model_name, 0.97)  # the head "bbb2" trained again on fresh data
    scheduled = promote(tracking_uri, model_name, fresh, merge_sha="bbb2", tags=TAGS, scheduled="scheduled:7")
    assert (scheduled.version, scheduled.previous_version, scheduled.reused) == (3, 2, False)
    tags = Tracker(tracking_uri).client.get_model_version(model_name, "3").tags
    assert (tags["modelgate.merge_sha"], tags["modelgate.scheduled"]) == ("bbb2", "scheduled:7")
    retry = promote(tracking_uri, model_name, candidate(tracking_uri, model_name, 0.5), merge_sha="bbb2",
                    tags=TAGS, scheduled="scheduled:7")
    assert (retry.version, retry.reused, retry.run_id) == (3, True, fresh)
    merge_retry = promote(tracking_uri, model_name, fresh, merge_sha="bbb2", tags=TAGS)
    assert (merge_retry.version, merge_retry.reused) == (2, True)  # the merge's own version, not the fire's
    assert versions(tracking_uri, model_name) == [1, 2, 3]
    assert aliases(tracking_uri, model_name) == {"champion": 3, "previous-champion": 2}


def test_a_retry_finishes_an_interrupted_promotion(tracking_uri: str, model_name: str) -> None:
    client = Tracker(tracking_uri).client
    run_id = candidate(tracking_uri, model_name, 0.8)
    promote(tracking_uri, model_name, run_id, merge_sha="aaa1", tags=TAGS)
    client.delete_registered_model_alias(model_name, "champion")  # as if it stopped before the aliases
    client.delete_model_version_tag(model_name, "1", "modelgate.promoted_at")
    again = promote(tracking_uri, model_name, run_id, merge_sha="aaa1", tags=TAGS)
    assert (again.version, again.reused) == (1, True)
    assert aliases(tracking_uri, model_name) == {"champion": 1}


def test_a_promoted_champions_files_are_copied_out_of_mlflow(
    tracking_uri: str, model_name: str, two_promoted: tuple[str, str], tmp_path: Path
) -> None:
    import mlflow.sklearn

    tracker = Tracker(tracking_uri)
    assert tracker.champion_version(model_name) == 2
    folder = copy_model_files(f"models:/{model_name}/2", tracking_uri, tmp_path / "champion")
    assert {"MLmodel", "model.pkl", "requirements.txt"} <= {path.name for path in folder.iterdir()}
    model = mlflow.sklearn.load_model(str(folder))  # what a job and a scoring server load
    assert list(model.predict(X)) == list(Y)
    requirements = (folder / "requirements.txt").read_text().split()
    assert [line.split("==")[0] for line in requirements] == ["scikit-learn", "cloudpickle"]
    assert [point["version"] for point in tracker.model_history(model_name, "accuracy")] == [1, 2]


def test_rollback_to_the_previous_champion(
    tracking_uri: str, model_name: str, two_promoted: tuple[str, str]
) -> None:
    result = rollback(tracking_uri, model_name, actor="bob")
    assert (result.model_name, result.from_version, result.to_version) == (model_name, 2, 1)
    assert aliases(tracking_uri, model_name) == {"champion": 1, "previous-champion": 2}
    tags = Tracker(tracking_uri).client.get_model_version(model_name, "1").tags
    assert tags["modelgate.rolled_back_by"] == "bob" and tags["modelgate.rolled_back_at"]
    assert Tracker(tracking_uri).champion_version(model_name) == 1

    forward = rollback(tracking_uri, model_name, to_version=2, actor="carol")
    assert (forward.from_version, forward.to_version) == (1, 2)
    assert aliases(tracking_uri, model_name) == {"champion": 2, "previous-champion": 1}


def test_rollback_errors(tracking_uri: str, model_name: str, two_promoted: tuple[str, str]) -> None:
    with pytest.raises(PromotionError, match="no version 9"):
        rollback(tracking_uri, model_name, to_version=9, actor="bob")
    with pytest.raises(PromotionError, match=r"version 2 .* is already the champion"):
        rollback(tracking_uri, model_name, to_version=2, actor="bob")
    with pytest.raises(PromotionError, match="no champion"):
        rollback(tracking_uri, "never-registered", actor="bob")
    Tracker(tracking_uri).client.delete_registered_model_alias(model_name, "previous-champion")
    with pytest.raises(PromotionError, match="no previous-champion"):
        rollback(tracking_uri, model_name, actor="bob")
    assert aliases(tracking_uri, model_name) == {"champion": 2}


def test_a_first_champion_has_nothing_to_roll_back_to(tracking_uri: str, model_name: str) -> None:
    promote(tracking_uri, model_name, candidate(tracking_uri, model_name, 0.8), merge_sha="aaa1", tags=TAGS)
    with pytest.raises(PromotionError, match="no previous-champion"):
        rollback(tracking_uri, model_name, actor="bob")


def test_a_run_without_a_logged_model_is_refused(tracking_uri: str, model_name: str) -> None:
    tracker = Tracker(tracking_uri)
    run_id = tracker.client.create_run(tracker.client.create_experiment(model_name)).info.run_id
    with pytest.raises(PromotionError, match=r"no modelgate\.model_uri tag"):
        promote(tracking_uri, model_name, run_id, merge_sha="aaa1", tags=TAGS)
    with pytest.raises(PromotionError, match="cannot be used"):
        promote(tracking_uri, model_name, run_id, merge_sha="x' or '1", tags=TAGS)


def test_a_failed_deploy_reverts_and_a_retry_promotes_again(
    tracking_uri: str, model_name: str, two_promoted: tuple[str, str]
) -> None:
    third = promote(tracking_uri, model_name, candidate(tracking_uri, model_name, 0.95), merge_sha="ccc3",
                    tags=TAGS)
    assert aliases(tracking_uri, model_name) == {"champion": 3, "previous-champion": 2}
    revert(tracking_uri, third, reason="port 8080 is taken")
    assert aliases(tracking_uri, model_name) == {"champion": 2, "previous-champion": 1}
    tags = Tracker(tracking_uri).client.get_model_version(model_name, "3").tags
    assert tags["modelgate.deploy_failed"] == "port 8080 is taken" and "modelgate.promoted_at" not in tags
    again = promote(tracking_uri, model_name, third.run_id, merge_sha="ccc3", tags=TAGS)
    assert (again.version, again.previous_version, again.reused) == (3, 2, True)
    assert aliases(tracking_uri, model_name) == {"champion": 3, "previous-champion": 2}


def test_reverting_a_first_promotion_leaves_no_champion(tracking_uri: str, model_name: str) -> None:
    first = promote(tracking_uri, model_name, candidate(tracking_uri, model_name, 0.8), merge_sha="aaa1",
                    tags=TAGS)
    revert(tracking_uri, first, reason="deploy failed")
    assert aliases(tracking_uri, model_name) == {}
    assert Tracker(tracking_uri).champion_version(model_name) is None


def test_undo_rollback_restores_both_aliases(
    tracking_uri: str, model_name: str, two_promoted: tuple[str, str]
) -> None:
    done = rollback(tracking_uri, model_name, actor="bob")
    assert aliases(tracking_uri, model_name) == {"champion": 1, "previous-champion": 2}
    undo_rollback(tracking_uri, done)
    assert aliases(tracking_uri, model_name) == {"champion": 2, "previous-champion": 1}
    assert version_tags(tracking_uri, model_name, 1)["modelgate.rolled_back_by"] == "bob"
    with pytest.raises(PromotionError, match="no version 7"):
        version_tags(tracking_uri, model_name, 7)
