"""``MODELGATE_MLFLOW_ARTIFACTS``: its default, what runs are given, and that jobs never see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runs.pipeline import RunOptions, pipeline_environment
from bot.settings import Settings
from pipelines.tracking import ARTIFACTS_VARIABLE

# (settings given, relative to the test's folder) → MLFLOW_ARTIFACTS after validation
CASES = [
    ({}, "{tmp}/data/mlartifacts"),  # the default store: mlflow.db in the data dir, artifacts beside it
    ({"mlflow_tracking_uri": "sqlite:///{tmp}/elsewhere/mlflow.db"}, "{tmp}/elsewhere/mlartifacts"),
    ({"mlflow_tracking_uri": "postgresql://db/mlflow"}, "{tmp}/data/mlartifacts"),
    ({"mlflow_tracking_uri": "postgresql://db/mlflow", "mlflow_artifacts": "s3://bucket/mg"}, "s3://bucket/mg"),
    ({"mlflow_artifacts": "/volume/mlartifacts"}, "/volume/mlartifacts"),
    ({"mlflow_artifacts": ""}, "{tmp}/data/mlartifacts"),
]


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_the_artifact_root_defaults_beside_the_store(
    given: dict[str, str], expected: str, tmp_path: Path
) -> None:
    values = {key: value.format(tmp=tmp_path) for key, value in given.items()}
    settings = Settings(data_dir=tmp_path / "data", **values)
    assert settings.artifacts_root == expected.format(tmp=tmp_path)


def test_the_setting_is_read_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARTIFACTS_VARIABLE, "file:///volume/mlartifacts")
    assert Settings(data_dir=tmp_path).artifacts_root == "file:///volume/mlartifacts"


@pytest.mark.parametrize(("root", "hidden"), [
    ("/volume/mlartifacts", Path("/volume/mlartifacts")),
    ("file:///volume/ml%20art", Path("/volume/ml art")),
    ("s3://bucket/mg", None),
])
def test_a_local_artifact_root_is_a_secret_path(root: str, hidden: Path | None, tmp_path: Path) -> None:
    paths = Settings(data_dir=tmp_path, mlflow_artifacts=root).secret_paths()
    assert paths[:2] == [tmp_path, Path(".env")]
    assert (hidden in paths) if hidden else len(paths) == 2


APP_ENVIRON = {"MODELGATE_WEBHOOK_SECRET": "s", "MODELGATE_DATABASE_URL": "postgresql://u:p@db/mg",
               "AWS_ACCESS_KEY_ID": "AKIA1", "AWS_ENDPOINT_URL": "http://minio:9000", "HOME": "/root",
               "GOOGLE_APPLICATION_CREDENTIALS": "/etc/gcs.json", "NOT_AWS_X": "x"}
CLOUD = {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_ENDPOINT_URL": "http://minio:9000",
         "GOOGLE_APPLICATION_CREDENTIALS": "/etc/gcs.json"}


@pytest.mark.parametrize(("root", "environ", "env"), [
    ("/volume/art", {}, {ARTIFACTS_VARIABLE: "/volume/art"}),
    (None, {}, {}),
    ("s3://bucket/mg", APP_ENVIRON, {**CLOUD, ARTIFACTS_VARIABLE: "s3://bucket/mg"}),
    (None, APP_ENVIRON, CLOUD),  # never the App's own settings
])
def test_pipeline_processes_get_the_root_and_the_storage_credentials(
    root: str | None, environ: dict[str, str], env: dict[str, str], tmp_path: Path
) -> None:
    options = RunOptions(workdir=tmp_path, tracking_uri="sqlite:///x.db", mlflow_artifacts=root)
    assert pipeline_environment(options, environ) == env
