"""run_pipeline in process against a real sqlite MLflow store and real scikit-learn models."""

from __future__ import annotations

from pathlib import Path

from pipelines.result import PipelineResult
from pipelines.steps import run_pipeline
from tests.pipelines.conftest import WORSE_MODEL, write_model

TAGS = {"modelgate.repository": "acme/wine", "modelgate.pr": "7", "modelgate.sha": "abc123"}

# Counts its calls in a file beside the checkout (inside it, the marker would change the code hash).
COUNTING_MODEL = '''from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def train(X_train, y_train):
    with (Path(__file__).parent.parent / "trainings.txt").open("a") as marker:
        marker.write("trained\\n")
    return make_pipeline(StandardScaler(), LogisticRegression(C={c}, max_iter=1000)).fit(X_train, y_train)
'''
RAISING_MODEL = '''def train(X_train, y_train):
    raise RuntimeError("feature store unreachable")
'''


def run(repo: Path, tracking_uri: str, use_cache: bool = True) -> PipelineResult:
    return run_pipeline(repo, "staging", tracking_uri, tags=TAGS, use_cache=use_cache)


def register_champion(tracking_uri: str, result: PipelineResult) -> int:
    """Register the run's logged model as the next version and point the champion alias at it."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    name = str(result.model_name)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    run_id = str(result.mlflow_run_id)
    source = client.get_run(run_id).data.tags["modelgate.model_uri"]
    version = client.create_model_version(name, source=source, run_id=run_id)
    client.set_registered_model_alias(name, "champion", version.version)
    return int(version.version)


def trainings(repo: Path) -> int:
    marker = repo.parent / "trainings.txt"
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_first_model_passes_on_absolute_gates_and_is_logged(example_repo: Path, tracking_uri: str) -> None:
    from mlflow import MlflowClient

    result = run(example_repo, tracking_uri)
    assert result.status == "passed", result.error
    assert result.metrics["champion"] is None and result.champion_version is None
    assert result.candidate_metrics["accuracy"] >= 0.85
    assert list(result.candidate_metrics) == ["accuracy", "f1_macro", "roc_auc"]
    assert result.summary_line().endswith("(first model), 2/2 gates passed")
    assert {"config", "data", "cache", "train", "evaluate", "tracking", "total"} <= set(result.durations)
    run_data = MlflowClient(tracking_uri=tracking_uri).get_run(str(result.mlflow_run_id)).data
    assert run_data.tags["modelgate.pr"] == "7" and run_data.tags["modelgate.kind"] == "staging"
    assert run_data.tags["modelgate.cache_key"] == result.cache_key
    assert run_data.metrics["candidate.accuracy"] == result.candidate_metrics["accuracy"]
    assert run_data.params["model.logisticregression__max_iter"] == "1000"
    assert len(run_data.params["modelgate.config_hash"]) == 64
    assert result.eval_predictions == f"runs:/{result.mlflow_run_id}/modelgate/eval_predictions.csv"


def test_champion_is_evaluated_on_the_same_rows(example_repo: Path, tracking_uri: str) -> None:
    write_model(example_repo, COUNTING_MODEL.format(c=1.0))
    first = run(example_repo, tracking_uri)
    assert register_champion(tracking_uri, first) == 1
    write_model(example_repo, COUNTING_MODEL.format(c=0.002))
    second = run(example_repo, tracking_uri)
    assert second.champion_version == 1 and second.cached_from is None
    assert second.champion_metrics == first.candidate_metrics  # same model, same evaluation rows
    assert second.candidate_metrics != second.champion_metrics
    f1_gate = next(gate for gate in second.gates if gate["metric"] == "f1_macro")
    assert f1_gate["champion"] == first.candidate_metrics["f1_macro"]
    assert "champion's" in f1_gate["reason"]
    assert "vs champion" in second.summary_line()


def test_a_worse_model_fails_its_gates(example_repo: Path, tracking_uri: str) -> None:
    register_champion(tracking_uri, run(example_repo, tracking_uri))
    write_model(example_repo, WORSE_MODEL)
    result = run(example_repo, tracking_uri)
    assert result.status == "failed" and result.error is None
    assert [gate["passed"] for gate in result.gates] == [False, False]
    assert result.summary_line().endswith("0/2 gates passed")


def test_a_broken_config_is_a_config_error(example_repo: Path, tracking_uri: str) -> None:
    (example_repo / ".modelgate.yml").write_text("model: [unclosed\n")
    result = run(example_repo, tracking_uri)
    assert (result.status, result.error_kind) == ("error", "config")
    assert result.error is not None and ".modelgate.yml" in result.error and "YAML" in result.error
    assert result.mlflow_run_id is None and result.summary_line().startswith("error: ")


def test_a_missing_module_is_a_config_error(example_repo: Path, tracking_uri: str) -> None:
    config = example_repo / ".modelgate.yml"
    config.write_text(config.read_text().replace("train: model:train", "train: modle:train"))
    result = run(example_repo, tracking_uri)
    assert (result.status, result.error_kind) == ("error", "config")
    assert result.error == "modle:train: module 'modle' not found in the repository"


def test_a_raising_train_is_a_train_error_with_the_traceback(example_repo: Path, tracking_uri: str) -> None:
    write_model(example_repo, RAISING_MODEL)
    result = run(example_repo, tracking_uri)
    assert (result.status, result.error_kind) == ("error", "train")
    assert result.error == "train failed: RuntimeError: feature store unreachable"
    assert "Traceback (most recent call last):" in result.log_tail
    assert any('raise RuntimeError("feature store unreachable")' in line for line in result.log_tail)
    assert len(result.log_tail) <= 50


def test_an_identical_rerun_is_served_from_the_cache(example_repo: Path, tracking_uri: str) -> None:
    write_model(example_repo, COUNTING_MODEL.format(c=1.0))
    first = run(example_repo, tracking_uri)
    second = run(example_repo, tracking_uri)
    assert trainings(example_repo) == 1
    assert second.cached_from == first.mlflow_run_id and second.cache_key == first.cache_key
    assert second.metrics == first.metrics and second.gates == first.gates
    assert "train" not in second.durations
    assert run(example_repo, tracking_uri, use_cache=False).cached_from is None
    assert trainings(example_repo) == 2


def test_changed_code_or_data_misses_the_cache(example_repo: Path, tracking_uri: str) -> None:
    write_model(example_repo, COUNTING_MODEL.format(c=1.0))
    keys = [run(example_repo, tracking_uri).cache_key]
    (example_repo / "NOTES.md").write_text("any file of the checkout is code\n")
    keys.append(run(example_repo, tracking_uri).cache_key)
    data = example_repo / "data.py"
    data.write_text(data.read_text().replace("random_state=7", "random_state=8"))
    result = run(example_repo, tracking_uri)
    keys.append(result.cache_key)
    assert trainings(example_repo) == 3 and result.cached_from is None
    assert len(set(keys)) == 3


def test_an_unusable_champion_is_reported_and_ignored(example_repo: Path, tracking_uri: str) -> None:
    data = example_repo / "data.py"
    original = data.read_text()
    two_features = original.replace("return X_train, y_train, X_eval, y_eval",
                                    "return X_train.iloc[:, :2], y_train, X_eval.iloc[:, :2], y_eval")
    data.write_text(two_features)
    register_champion(tracking_uri, run(example_repo, tracking_uri))
    data.write_text(original)
    result = run(example_repo, tracking_uri)
    assert result.status == "passed"
    assert result.champion_metrics is None and result.champion_version is None
    assert result.champion_error is not None
    assert result.champion_error.startswith("champion version 1 could not be evaluated on this data: ")
    assert "(champion unusable)" in result.summary_line()
