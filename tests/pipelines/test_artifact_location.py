"""Where new MLflow experiments keep their artifacts (``MODELGATE_MLFLOW_ARTIFACTS``): the pure rules,
and real MLflow runs logged under a common root that another tracker (another replica) reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.tracking import (
    ARTIFACTS_VARIABLE,
    artifact_root_uri,
    experiment_artifact_location,
    local_artifact_root,
)

HOME = str(Path("~").expanduser())
CWD = str(Path.cwd().resolve())

# (tracking URI, artifact root, experiment) → the experiment's artifact location
LOCATIONS = [
    ("sqlite:////srv/mg/mlflow.db", None, "modelgate/wine", "file:///srv/mg/mlartifacts/modelgate/wine"),
    ("sqlite:////srv/mg/mlflow.db", "/volume/art", "modelgate/wine", "file:///volume/art/modelgate/wine"),
    ("sqlite:////srv/mg/mlflow.db", "/volume/art/", "modelgate/wine", "file:///volume/art/modelgate/wine"),
    ("postgresql+psycopg://db/mlflow", None, "modelgate/wine", None),
    ("postgresql+psycopg://db/mlflow", "/nfs/ml", "modelgate/wine", "file:///nfs/ml/modelgate/wine"),
    ("postgresql+psycopg://db/mlflow", "file:///nfs/ml/", "modelgate/wine", "file:///nfs/ml/modelgate/wine"),
    ("postgresql+psycopg://db/mlflow", "s3://bucket/mg", "modelgate/wine", "s3://bucket/mg/modelgate/wine"),
    ("https://mlflow.example.com", "s3://bucket", "modelgate/a b", "s3://bucket/modelgate/a%20b"),
    ("https://mlflow.example.com", "", "modelgate/wine", None),
    ("sqlite:///relative.db", "art", "modelgate/wine", f"file://{CWD}/art/modelgate/wine"),
]


@pytest.mark.parametrize(("tracking_uri", "root", "experiment", "expected"), LOCATIONS)
def test_experiment_artifact_location(tracking_uri: str, root: str | None, experiment: str,
                                      expected: str | None) -> None:
    assert experiment_artifact_location(tracking_uri, root, experiment) == expected


# artifact root → (as a URI, its folder on this host or None)
ROOTS = [
    ("/volume/art", "file:///volume/art", Path("/volume/art")),
    ("file:///volume/my%20art/", "file:///volume/my%20art", Path("/volume/my art")),
    ("~/art", f"file://{HOME}/art", Path(HOME) / "art"),
    ("s3://bucket/prefix/", "s3://bucket/prefix", None),
    ("gs://bucket", "gs://bucket", None),
]


@pytest.mark.parametrize(("root", "uri", "folder"), ROOTS)
def test_artifact_roots(root: str, uri: str, folder: Path | None) -> None:
    assert artifact_root_uri(root) == uri
    assert local_artifact_root(root) == folder


@pytest.mark.e2e  # MLflow import and a logged model (~3 s)
def test_a_common_root_holds_the_artifacts_that_another_tracker_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.linear_model import LogisticRegression

    from pipelines.model_files import copy_model_files
    from pipelines.result import PipelineResult
    from pipelines.tracking import Tracker, experiment_name
    from tests.fixtures.saved_models import saved_model

    uri, common = f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}", tmp_path / "common"
    (tmp_path / "a").mkdir()
    monkeypatch.setenv(ARTIFACTS_VARIABLE, str(common))  # as the pipeline process gets it
    result = PipelineResult(status="passed", kind="staging", model_name="wine",
                            metrics={"candidate": {"accuracy": 1.0}, "champion": None})
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    logged = Tracker(uri).log_candidate(result, saved_model(model), "c0ffee", {})

    monkeypatch.delenv(ARTIFACTS_VARIABLE)  # another replica: another default, the experiment stays put
    other = Tracker(uri)
    experiment = other.client.get_experiment_by_name(experiment_name("wine"))
    assert experiment is not None and experiment.artifact_location == (common / "modelgate" / "wine").as_uri()
    assert not (tmp_path / "a" / "mlartifacts").exists()
    assert any(p.name == "model.pkl" for p in common.rglob("*"))
    model_uri = other.client.get_run(str(logged.mlflow_run_id)).data.tags["modelgate.model_uri"]
    copied = copy_model_files(model_uri, uri, tmp_path / "copy")
    assert (copied / "model.pkl").is_file()
