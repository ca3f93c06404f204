"""The champion's predictions as plain data: a job of role "champion" writes them (real job processes on a
copy of the example repository), a candidate job evaluates the champion from them without unpickling, and
the contract's reader and the stand-in model refuse what does not fit (table tests on real files)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from pipelines.checkout import StepError, repo_imports
from pipelines.job import files
from pipelines.job.arrays import labels_digest
from pipelines.job.files import JobOutputError
from pipelines.job.recorded import RecordedRowsError, recorded_champion, save_predictions
from pipelines.job.run import JobSpec
from pipelines.model_metrics import PREDICT_LATENCY
from tests.fixtures.saved_models import saved_model

ROOT = Path(__file__).resolve().parents[2]
JOB_SECONDS = 120
# A custom metric and a slice set: the recorded champion must go through them like an unpickled one.
REPO_METRICS = '''def error_rate(y_true, y_pred, y_score):
    return sum(t != p for t, p in zip(y_true, y_pred)) / len(y_true)


def by_alcohol(X_eval):
    return ["strong" if value > 13.0 else "light" for value in X_eval["alcohol"]]
'''
EXTRA_CONFIG = '''slices:
  - {name: alcohol, function: repo_metrics:by_alcohol}
'''


# --- real job processes ------------------------------------------------------------------------------

def job(spec: JobSpec, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -P -m pipelines.job SPEC`` on the repository copy (no isolation); ``answer`` on stdin."""
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-P", "-m", "pipelines.job", spec.to_json()], cwd=spec.repo_dir, env=job_env(),
        input=answer, stdin=None if answer is not None else subprocess.DEVNULL,
        capture_output=True, text=True, timeout=JOB_SECONDS, check=False,
    )


def job_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
            "LANG": "C.UTF-8"}


def evaluation(output: Path) -> files.JobEvaluation:
    found = files.read_json(output, files.EVALUATION_FILE, files.JobEvaluation)
    assert found is not None, f"no {files.EVALUATION_FILE} in {output}"
    return found


@pytest.fixture
def repo(example_repo: Path) -> Path:
    """The example repository with a custom metric and a slice set."""
    (example_repo / "repo_metrics.py").write_text(REPO_METRICS)
    config = example_repo / ".modelgate.yml"
    text = config.read_text().replace(
        "metrics: [accuracy, f1_macro, roc_auc]",
        "metrics: [accuracy, f1_macro, roc_auc, "
        "{name: error_rate, function: 'repo_metrics:error_rate', higher_is_better: false}]",
    )
    config.write_text(text + EXTRA_CONFIG)
    return example_repo


def gate_latency(repo: Path) -> Path:
    """The repository with a staging gate on predict_latency_ms (so its jobs measure it)."""
    config = repo / ".modelgate.yml"
    config.write_text(config.read_text().replace(
        "    - {metric: f1_macro, max_regression: 0.02}\n",
        "    - {metric: f1_macro, max_regression: 0.02}\n    - {metric: predict_latency_ms, max: 1000}\n"))
    return repo


def staging_data(repo: Path) -> tuple[Any, Any, Any, Any]:
    with repo_imports(repo):
        from data import load_staging  # type: ignore[import-not-found]

        X_train, y_train, X_eval, y_eval = load_staging()
        return X_train, y_train, X_eval, y_eval


@pytest.fixture
def champion_model(repo: Path) -> Path:
    """A folder holding ``model.pkl``: a shallow tree (not the candidate's model) on the training rows."""
    X_train, y_train, _, _ = staging_data(repo)
    return saved_model(DecisionTreeClassifier(max_depth=2, random_state=0).fit(X_train, y_train))


def champion_job(repo: Path, champion: Path, output: Path, kind: str = "staging") -> Path:
    """Run a champion job on ``champion``'s model; the folder of its predictions."""
    done = job(JobSpec(repo, kind, output, champion, role="champion"))
    assert done.returncode == 0, done.stderr
    return output


@pytest.mark.e2e
def test_the_champion_job_predicts_as_the_unpickled_champion_does(
    repo: Path, champion_model: Path, tmp_path: Path
) -> None:
    spec = JobSpec(repo, "staging", tmp_path / "out", champion_model, role="champion")
    spec.output_dir.mkdir()
    # stdin stays open and silent: a job that waited for an answer would never end
    with subprocess.Popen([sys.executable, "-P", "-m", "pipelines.job", spec.to_json()], cwd=repo,
                          env=job_env(), stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            _, stderr = process.communicate(timeout=JOB_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the champion job waited (for stdin?) instead of ending")
    assert process.returncode == 0, stderr

    _, _, X_eval, y_eval = staging_data(repo)
    model = pickle.loads((champion_model / files.MODEL_FILE).read_bytes())
    document, arrays = files.read_champion_predictions(spec.output_dir)
    assert sorted(arrays) == ["classes", "y_pred", "y_score"]
    np.testing.assert_array_equal(arrays["y_pred"], model.predict(X_eval))
    np.testing.assert_allclose(arrays["y_score"], model.predict_proba(X_eval), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(arrays["classes"], model.classes_)
    assert document.rows == len(y_eval) and document.labels_digest == labels_digest(y_eval)
    assert {"config", "data", "champion"} <= set(document.durations)
    assert sorted(path.name for path in spec.output_dir.iterdir()) == [
        files.PREDICTIONS_FILE, files.PREDICTIONS_ARRAYS_FILE]  # no handshake: no fingerprint.json


def pickled_and_replayed(repo: Path, champion_model: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A champion job's folder, then the output folders of two candidate jobs: one unpickling the
    champion, one replaying that champion job's predictions."""
    recorded = champion_job(repo, champion_model, tmp_path / "champion")
    by_pickle = JobSpec(repo, "staging", tmp_path / "pickled", champion_model)
    by_record = JobSpec(repo, "staging", tmp_path / "recorded", recorded)
    for spec in (by_pickle, by_record):
        done = job(spec, "go 3\n")
        assert done.returncode == 0, done.stderr
    return recorded, by_pickle.output_dir, by_record.output_dir


@pytest.mark.e2e
def test_recorded_predictions_judge_the_champion_as_its_pickle_does(
    repo: Path, champion_model: Path, tmp_path: Path
) -> None:
    _, pickled_dir, replayed_dir = pickled_and_replayed(repo, champion_model, tmp_path)
    pickled, replayed = evaluation(pickled_dir), evaluation(replayed_dir)
    assert replayed.champion_error is None and replayed.champion is not None
    assert set(replayed.champion) == {"accuracy", "f1_macro", "roc_auc", "error_rate"}
    assert replayed.champion != replayed.candidate  # a different model: the comparison means something
    assert (replayed.champion, replayed.candidate) == (pickled.champion, pickled.candidate)
    assert replayed.intervals == pickled.intervals and len(replayed.intervals) == 4
    assert replayed.slices == pickled.slices and {row.value for row in replayed.slices} == {"strong", "light"}
    pickled_arrays = files.read_arrays(pickled_dir)
    replayed_arrays = files.read_arrays(replayed_dir)
    for name in ("champion_pred", "champion_score", "champion_classes"):
        np.testing.assert_array_equal(replayed_arrays[name], pickled_arrays[name])


@pytest.mark.e2e
def test_latency_is_timed_for_both_models_or_carried_from_the_champion_job(
    repo: Path, champion_model: Path, tmp_path: Path
) -> None:
    recorded, pickled_dir, replayed_dir = pickled_and_replayed(gate_latency(repo), champion_model, tmp_path)
    document, _ = files.read_champion_predictions(recorded)
    assert document.predict_latency_ms is not None and document.predict_latency_ms > 0
    assert "latency" in document.durations
    pickled, replayed = evaluation(pickled_dir), evaluation(replayed_dir)
    for found in (pickled, replayed):
        assert found.champion is not None and found.candidate[PREDICT_LATENCY] > 0
        assert found.higher_is_better[PREDICT_LATENCY] is False and "latency" in found.durations
        assert [interval.metric for interval in found.intervals] == ["accuracy", "f1_macro", "roc_auc",
                                                                      "error_rate"]  # measured: no CI
    assert pickled.champion is not None and pickled.champion[PREDICT_LATENCY] > 0  # timed beside it
    assert replayed.champion is not None
    assert replayed.champion[PREDICT_LATENCY] == document.predict_latency_ms  # as its own job measured


@pytest.mark.e2e
def test_predictions_of_other_rows_make_the_champion_unusable(
    repo: Path, champion_model: Path, tmp_path: Path
) -> None:
    recorded = champion_job(repo, champion_model, tmp_path / "champion", kind="production")
    spec = JobSpec(repo, "staging", tmp_path / "candidate", recorded)
    done = job(spec, "go 3\n")
    assert done.returncode == 0, done.stderr
    found = evaluation(spec.output_dir)
    assert found.champion is None and found.intervals == []
    assert found.candidate["accuracy"] > 0.85
    assert found.champion_error is not None
    assert found.champion_error.startswith("champion version 3 could not be evaluated on this data: "
                                           "RecordedRowsError: its recorded predictions are for other rows")


@pytest.mark.e2e
@pytest.mark.parametrize(("champion", "kind", "message"), [
    (None, "champion", "needs the champion's files"),
    ("empty", "champion", "FileNotFoundError"),
    ("broken-data", "config", "not found in the repository"),
], ids=["no-champion-dir", "no-model-file", "broken-data-ref"])
def test_a_champion_job_that_cannot_predict_writes_an_error(
    repo: Path, champion_model: Path, tmp_path: Path, champion: str | None, kind: str, message: str
) -> None:
    folder = {None: None, "empty": tmp_path / "empty", "broken-data": champion_model}[champion]
    if champion == "empty":
        (tmp_path / "empty").mkdir()
    if champion == "broken-data":
        config = repo / ".modelgate.yml"
        config.write_text(config.read_text().replace("data:load_staging", "missing_module:load"))
    spec = JobSpec(repo, "staging", tmp_path / "out", folder, role="champion")
    done = job(spec)
    assert done.returncode == 1, done.stderr
    error = files.read_json(spec.output_dir, files.ERROR_FILE, files.JobError)
    assert error is not None and error.error_kind == kind and message in error.error
    assert not (spec.output_dir / files.PREDICTIONS_FILE).exists()


# --- the contract, in process ------------------------------------------------------------------------

def recorded_folder(folder: Path, y_eval: Any, y_pred: Any, y_score: Any = None, classes: Any = None) -> Path:
    folder.mkdir(exist_ok=True)
    save_predictions(folder, y_eval, y_pred, y_score, classes, {"champion": 0.1})
    return folder


@pytest.mark.parametrize(("first", "second", "same"), [
    ([0, 1, 2], [0, 1, 2], True),
    ([0, 1, 2], [0, 2, 1], False),
    ([0, 1, 2], [0, 1], False),
    ([0, 1, 2], np.array([0, 1, 2], dtype=np.int32), False),
    (["a", "b"], np.array(["a", "b"], dtype=object), True),
], ids=["same", "reordered", "fewer", "other-dtype", "objects-as-strings"])
def test_the_labels_digest_tells_rows_apart(first: Any, second: Any, same: bool) -> None:
    assert (labels_digest(np.asarray(first)) == labels_digest(second)) is same


def test_the_stand_in_replays_predictions_and_scores(tmp_path: Path) -> None:
    y_eval, scores = np.array(["a", "b", "a"]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    folder = recorded_folder(tmp_path / "s", y_eval, y_eval, scores, ["a", "b"])
    with_scores: Any = recorded_champion(folder, y_eval)
    np.testing.assert_array_equal(with_scores.predict(np.zeros((3, 2))), y_eval)
    np.testing.assert_array_equal(with_scores.predict_proba(np.zeros((3, 2))), scores)
    np.testing.assert_array_equal(with_scores.classes_, ["a", "b"])
    without = recorded_champion(recorded_folder(tmp_path / "p", y_eval, y_eval), y_eval)
    assert not hasattr(without, "predict_proba") and without.classes_ is None
    with pytest.raises(RecordedRowsError, match="asked for 2 rows, recorded 3"):
        without.predict(np.zeros((2, 2)))
    with pytest.raises(RecordedRowsError, match="other rows"):
        recorded_champion(tmp_path / "p", np.array(["a", "b", "b"]))


def test_the_stand_in_carries_the_latency_its_job_measured(tmp_path: Path) -> None:
    y_eval = np.array([0, 1, 1])
    save_predictions(tmp_path, y_eval, y_eval, None, None, {}, latency_ms=0.25)
    assert recorded_champion(tmp_path, y_eval).predict_latency_ms == 0.25
    save_predictions(tmp_path, y_eval, y_eval, np.zeros((3, 2)), None, {})
    assert recorded_champion(tmp_path, y_eval).predict_latency_ms is None


def test_predictions_without_one_row_per_label_are_not_saved(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="y_pred has shape \\(2,\\), not 3 rows") as raised:
        save_predictions(tmp_path, [0, 1, 1], [0, 1], None, None, {})
    assert raised.value.kind == "champion" and list(tmp_path.iterdir()) == []


def write_npz(folder: Path, **arrays: Any) -> None:
    with (folder / files.PREDICTIONS_ARRAYS_FILE).open("wb") as handle:
        np.savez(handle, **arrays)


@pytest.mark.parametrize(("document", "arrays", "problem"), [
    (None, {"y_pred": np.arange(3)}, "wrote no champion_predictions.json"),
    ({"rows": 3, "labels_digest": "x"}, {"y_pred": np.array([1, 2, 3], dtype=object)}, "cannot be read"),
    ({"rows": 3, "labels_digest": "x"}, {"y_score": np.zeros((3, 2))}, "lacks y_pred"),
    ({"rows": 3, "labels_digest": "x"}, {"y_pred": np.arange(2)}, "y_pred does not have 3 rows"),
    ({"rows": 3, "labels_digest": "x"}, {"y_pred": np.arange(3), "y_score": np.float64(1)}, "y_score"),
    ({"rows": 0, "labels_digest": "x"}, {"y_pred": np.arange(0)}, "malformed at rows"),
    ({"rows": 3, "labels_digest": "x", "predict_latency_ms": -1.0}, {"y_pred": np.arange(3)},
     "malformed at predict_latency_ms"),
    ({"rows": 3, "labels_digest": "x", "predict_latency_ms": "fast"}, {"y_pred": np.arange(3)},
     "malformed at predict_latency_ms"),
], ids=["no-json", "pickled-objects", "no-predictions", "short", "scalar-scores", "no-rows",
        "negative-latency", "latency-not-a-number"])
def test_bad_recorded_predictions_are_refused(
    tmp_path: Path, document: dict[str, Any] | None, arrays: dict[str, Any], problem: str
) -> None:
    if document is not None:
        (tmp_path / files.PREDICTIONS_FILE).write_text(json.dumps(document))
    write_npz(tmp_path, **arrays)
    with pytest.raises(JobOutputError, match=problem):
        files.read_champion_predictions(tmp_path)


@pytest.mark.parametrize("role", ["candidate", "champion"])
def test_the_spec_round_trips_its_role(tmp_path: Path, role: str) -> None:
    spec = JobSpec(tmp_path / "repo", "staging", tmp_path / "out", tmp_path / "champion", role=role)  # type: ignore[arg-type]
    assert JobSpec.from_json(spec.to_json()) == spec


def test_an_older_spec_is_a_candidate_and_an_unknown_role_is_refused(tmp_path: Path) -> None:
    older = {"repo_dir": "/r", "kind": "staging", "output_dir": "/o", "champion_dir": None}
    assert JobSpec.from_json(json.dumps(older)).role == "candidate"
    with pytest.raises(ValueError, match="unknown job role 'judge'"):
        JobSpec.from_json(json.dumps({**older, "role": "judge"}))
