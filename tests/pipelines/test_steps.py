"""run_pipeline in process against a real sqlite MLflow store and real scikit-learn models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.model_files import copy_model_files
from pipelines.progress import read_events, shown_steps
from pipelines.result import PipelineResult
from pipelines.steps import run_pipeline
from tests.fixtures.example_repo import WORSE_MODEL, write_model

pytestmark = pytest.mark.e2e

TAGS = {"modelgate.repository": "acme/wine", "modelgate.pr": "7", "modelgate.sha": "abc123"}

# Counts its calls in .modelgate/ of the checkout: the job can write only there (its own scratch copy and
# output folder), and .modelgate/ is no code, so the marker leaves the code hash alone.
COUNTING_MODEL = '''from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def train(X_train, y_train):
    (Path(__file__).parent / ".modelgate").mkdir(exist_ok=True)
    with (Path(__file__).parent / ".modelgate" / "trainings.txt").open("a") as marker:
        marker.write("trained\\n")
    return make_pipeline(StandardScaler(), LogisticRegression(C={c}, max_iter=1000)).fit(X_train, y_train)
'''
RAISING_MODEL = '''def train(X_train, y_train):
    raise RuntimeError("feature store unreachable")
'''


def run(
    repo: Path, tracking_uri: str, use_cache: bool = True, progress: Path | None = None
) -> PipelineResult:
    return run_pipeline(repo, "staging", tracking_uri, tags=TAGS, use_cache=use_cache, progress=progress)


def shown(progress: Path) -> dict[str, str]:
    """What the check run would show of the run's progress file: step → state."""
    return {row.name: row.state for row in shown_steps(read_events(progress), finished=True)}


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
    marker = repo / ".modelgate" / "trainings.txt"
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_first_model_passes_on_absolute_gates_and_is_logged(example_repo: Path, tracking_uri: str) -> None:
    from mlflow import MlflowClient

    progress = example_repo.parent / "progress.jsonl"
    result = run(example_repo, tracking_uri, progress=progress)
    assert result.status == "passed", result.error
    assert shown(progress) == {"fetch": "skipped", "environment": "done", "data": "done", "train": "done",
                               "evaluate candidate": "done", "evaluate champion": "done",
                               "predict latency": "skipped", "report": "done"}
    assert result.metrics["champion"] is None and result.champion_version is None
    assert result.candidate_metrics["accuracy"] >= 0.85
    assert list(result.candidate_metrics) == ["accuracy", "f1_macro", "roc_auc", "model_size_mb"]
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
    progress = example_repo.parent / "progress.jsonl"
    result = run(example_repo, tracking_uri, progress=progress)
    assert (result.status, result.error_kind) == ("error", "train")
    assert shown(progress) | {"fetch": "-"} == {"fetch": "-", "environment": "done", "data": "done",
                                                 "train": "failed", "evaluate candidate": "skipped",
                                                 "evaluate champion": "skipped", "predict latency": "skipped",
                                                 "report": "skipped"}
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


REPORT_FILES = {"report.md", "report.json", "confusion.png", "roc.png", "pr.png"}
SLICES_MODULE = '''import numpy as np


def strength(X_eval):
    return np.where(X_eval["alcohol"] >= 13, "strong", "light")
'''


def test_the_report_is_written_logged_and_restored_on_a_cache_hit(
    example_repo: Path, tracking_uri: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    write_model(example_repo, COUNTING_MODEL.format(c=1.0))
    first = run_pipeline(example_repo, "staging", tracking_uri, tags=TAGS, output_dir=tmp_path / "first")
    assert first.status == "passed" and first.cached_from is None
    assert set(first.report_files) == REPORT_FILES  # no champion: no deltas plot, no history
    assert {path.name for path in (tmp_path / "first").iterdir()} == REPORT_FILES
    data = json.loads((tmp_path / "first" / "report.json").read_text())
    assert (data["mlflow_run_id"], data["pr"], data["status"]) == (first.mlflow_run_id, 7, "passed")
    assert data["classification"]["labels"] == ["0", "1", "2"]
    assert "Staging passed" in (tmp_path / "first" / "report.md").read_text()
    client = MlflowClient(tracking_uri=tracking_uri)
    stored = client.list_artifacts(str(first.mlflow_run_id), "modelgate/report")
    assert {Path(info.path).name for info in stored} == REPORT_FILES
    assert first.durations["analysis"] < 2, first.durations  # bootstrap + slices + plot data

    again = run_pipeline(example_repo, "staging", tracking_uri, tags={**TAGS, "modelgate.pr": "8"},
                         output_dir=tmp_path / "again")
    assert trainings(example_repo) == 1
    assert again.cached_from == first.mlflow_run_id and set(again.report_files) == REPORT_FILES
    restored = json.loads((tmp_path / "again" / "report.json").read_text())
    assert (restored["cached_from"], restored["pr"]) == (first.mlflow_run_id, 8)
    assert restored["metrics"] == data["metrics"]
    assert "Reused the result of MLflow run" in (tmp_path / "again" / "report.md").read_text()
    assert (tmp_path / "again" / "roc.png").read_bytes() == (tmp_path / "first" / "roc.png").read_bytes()


def test_a_cached_run_without_a_stored_report_runs_again(
    example_repo: Path, tracking_uri: str, tmp_path: Path
) -> None:
    write_model(example_repo, COUNTING_MODEL.format(c=1.0))
    first = run(example_repo, tracking_uri)
    assert first.report_files == []
    second = run_pipeline(example_repo, "staging", tracking_uri, tags=TAGS, output_dir=tmp_path / "out")
    assert trainings(example_repo) == 2 and second.cached_from is None
    assert set(second.report_files) == REPORT_FILES


def test_an_error_still_gets_a_report(example_repo: Path, tracking_uri: str, tmp_path: Path) -> None:
    write_model(example_repo, RAISING_MODEL)
    result = run_pipeline(example_repo, "staging", tracking_uri, tags=TAGS, output_dir=tmp_path / "out")
    assert (result.status, result.error_kind) == ("error", "train")
    assert set(result.report_files) == {"report.md", "report.json"}
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (data["status"], data["error_kind"], data["task"]) == ("error", "train", "classification")
    assert data["classification"] is None and data["log_tail"] == result.log_tail


def test_significant_and_slice_gates_in_a_run(example_repo: Path, tracking_uri: str, tmp_path: Path) -> None:
    (example_repo / "slices.py").write_text(SLICES_MODULE)
    config = example_repo / ".modelgate.yml"
    config.write_text(config.read_text().replace(
        "    - {metric: f1_macro, max_regression: 0.02}\n",
        "    - {metric: f1_macro, must_beat: 0, significant: true}\n"
        "    - {metric: accuracy, max_slice_regression: 0.02, min_rows: 5}\n",
    ) + "slices:\n  - {name: strength, function: 'slices:strength'}\n")
    register_champion(tracking_uri, run(example_repo, tracking_uri))
    write_model(example_repo, COUNTING_MODEL.format(c=0.002))
    result = run_pipeline(example_repo, "staging", tracking_uri, tags=TAGS, output_dir=tmp_path / "out")
    assert result.status == "failed", result.error
    _, significant, sliced = result.gates
    assert significant["significant"] and not significant["passed"]
    assert "judged on the CI low bound (must be strictly better)" in significant["reason"]
    assert significant["ci_low"] is not None and significant["ci_low"] <= 0
    assert sliced["slice"] in {"strength=light", "strength=strong"}
    assert sliced["reason"].startswith(f"{sliced['slice']}: accuracy ")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {row["value"] for row in data["slices"]} == {"light", "strong"}
    assert data["history"][0]["version"] == 1 and data["history"][0]["metric"] == "accuracy"
    assert {"deltas.png", "history.png"} <= set(result.report_files)


ISSUE_GATES = """\
    - {metric: predict_latency_ms, max: 5}
    - {metric: model_size_mb, max_regression: 10}
"""


def test_speed_and_size_are_measured_for_both_models_and_gated(
    example_repo: Path, tracking_uri: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    config = example_repo / ".modelgate.yml"
    text = config.read_text()
    config.write_text(text.replace("    - {metric: f1_macro, max_regression: 0.02}\n", ISSUE_GATES))
    first = run(example_repo, tracking_uri)
    assert list(first.candidate_metrics) == ["accuracy", "f1_macro", "roc_auc", "predict_latency_ms",
                                             "model_size_mb"]
    tags = MlflowClient(tracking_uri=tracking_uri).get_run(str(first.mlflow_run_id)).data.tags
    uri = tags["modelgate.model_uri"]
    logged = copy_model_files(uri, tracking_uri, tmp_path / "logged") / "model.pkl"
    assert first.candidate_metrics["model_size_mb"] == logged.stat().st_size / 1_000_000
    register_champion(tracking_uri, first)

    second = run_pipeline(example_repo, "staging", tracking_uri, tags=TAGS, use_cache=False,
                          output_dir=tmp_path / "out")
    assert second.champion_version == 1 and second.champion_metrics is not None
    assert second.champion_metrics["model_size_mb"] == first.candidate_metrics["model_size_mb"]
    assert second.champion_metrics["predict_latency_ms"] > 0  # timed beside the candidate in its job
    assert second.higher_is_better["predict_latency_ms"] is second.higher_is_better["model_size_mb"] is False
    latency, size = second.gates[1:]
    assert (latency["rule"], latency["candidate"]) == ("max", second.candidate_metrics["predict_latency_ms"])
    assert size["passed"] and size["champion"] == first.candidate_metrics["model_size_mb"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    rows = {row["name"]: row for row in report["metrics"]}
    assert rows["model_size_mb"]["higher_is_better"] is False
    assert rows["predict_latency_ms"]["delta"] is not None
    assert "| predict_latency_ms ↓ |" in (tmp_path / "out" / "report.md").read_text()


def test_a_slice_that_does_not_fit_the_data_is_a_data_error(example_repo: Path, tracking_uri: str) -> None:
    config = example_repo / ".modelgate.yml"
    config.write_text(config.read_text() + "slices:\n  - {name: region, column: region}\n")
    result = run(example_repo, tracking_uri)
    assert (result.status, result.error_kind) == ("error", "data")
    assert result.error is not None
    assert result.error.startswith("slice 'region': X_eval has no column 'region' (columns: alcohol, ")


# A model class of the repository's own: the logged model must not need the checkout to load.
CUSTOM_CLASS_MODEL = '''from sklearn.ensemble import RandomForestClassifier


class Shrunk(RandomForestClassifier):
    """A small forest with its own class, defined in the repository."""


def train(X_train, y_train):
    return Shrunk(n_estimators=20, random_state=0).fit(X_train, y_train)
'''


def test_a_model_of_the_repositorys_own_class_loads_without_the_checkout(
    example_repo: Path, tracking_uri: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from mlflow import MlflowClient

    write_model(example_repo, CUSTOM_CLASS_MODEL)
    result = run(example_repo, tracking_uri)
    assert result.status == "passed", result.error
    run_tags = MlflowClient(tracking_uri=tracking_uri).get_run(str(result.mlflow_run_id)).data.tags
    uri = run_tags["modelgate.model_uri"]
    elsewhere = tmp_path / "elsewhere"  # no model.py here, and the checkout is not on sys.path
    elsewhere.mkdir()
    script = ("import sys, mlflow.sklearn; mlflow.set_tracking_uri(sys.argv[1]); "
              "m = mlflow.sklearn.load_model(sys.argv[2]); print(type(m).__name__, 'model' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-P", "-c", script, tracking_uri, uri], cwd=elsewhere,
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.split() == ["Shrunk", "False"]
    import cloudpickle

    assert not cloudpickle.cloudpickle._PICKLE_BY_VALUE_MODULES  # registrations end with the logging
