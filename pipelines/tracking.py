"""Every MLflow call of the pipelines: the champion, candidate runs and the result cache.

mlflow is imported lazily (``Tracker()``), after the telemetry switches are set, so config
errors and training never pay for it. One process talks to one tracking URI at a time
(MLflow's fluent API is process-global).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlparse

from pipelines.model_files import log_model_files
from pipelines.result import PipelineResult

if TYPE_CHECKING:
    from reports.types import HistoryPoint

log = logging.getLogger(__name__)

TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_ENABLE_TELEMETRY": "false", "DO_NOT_TRACK": "true",
}
_QUIET = {"MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING": "false", "MLFLOW_PRINT_MODEL_URLS_ON_CREATION": "false"}
CHAMPION_ALIAS = "champion"
CACHE_TAG = "modelgate.cache_key"
REPOSITORY_TAG = "modelgate.repository"
RESULT_TAG = "modelgate.result"
MODEL_URI_TAG = "modelgate.model_uri"  # models:/m-… of the logged model: the source for registering it
RESULT_ARTIFACT = "modelgate/result.json"
PREDICTIONS_ARTIFACT = "modelgate/eval_predictions.csv"
SAMPLE_ARTIFACT = "modelgate/sample.json"  # a few evaluation rows: what a deployment's check predicts on
REPORT_ARTIFACTS = "modelgate/report"  # the rendered report's files (report.md, PNGs, report.json)
HISTORY_VERSIONS = 50  # newest registered versions shown in a report's history
_RESULT_TAG_LIMIT = 5000  # MLflow tag values hold 8000 characters; larger results live only as the artifact
_MISSING = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")
# where new experiments keep their artifacts (a path or URI every replica reads): the operator's
# MODELGATE_MLFLOW_ARTIFACTS, passed to pipeline processes under the same name
ARTIFACTS_VARIABLE = "MODELGATE_MLFLOW_ARTIFACTS"
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


# Renders the report of a logged result; returns the directory and the files written (relative names).
ReportWriter = Callable[[PipelineResult], tuple[Path, list[str]]]


def experiment_name(model_name: str) -> str:
    """The MLflow experiment that holds a model's candidate runs."""
    return f"modelgate/{model_name}"


def absolute_tracking_uri(uri: str, base: Path | None = None) -> str:
    """Make a relative ``sqlite:///file.db`` absolute (children run in another directory)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri.startswith(prefix + "/") or uri == prefix:
        return uri
    return prefix + str(((base or Path.cwd()) / uri[len(prefix) :]).resolve())


def default_artifact_root(uri: str) -> Path | None:
    """Artifacts of a ``sqlite:////dir/mlflow.db`` store go to ``/dir/mlartifacts`` (None otherwise)."""
    prefix = "sqlite:////"
    if not uri.startswith(prefix):
        return None
    return Path(uri[len(prefix) - 1 :].split("?", 1)[0]).parent / "mlartifacts"


def artifact_root_uri(root: str) -> str:
    """``root`` as a URI: a path (``/shared/mlartifacts``, ``~/a``, relative) becomes an absolute
    ``file://`` URI; a URI (``file:///…``, ``s3://bucket/prefix``) is kept, without a trailing slash."""
    if _URI_SCHEME.match(root):
        return root.rstrip("/")
    return Path(root).expanduser().resolve().as_uri()


def local_artifact_root(root: str) -> Path | None:
    """The folder of an artifact root on this host's file system (a path or ``file://`` URI); None for
    remote stores (``s3://``…)."""
    uri = artifact_root_uri(root)
    if not uri.startswith("file://"):
        return None
    return Path(unquote(urlparse(uri).path))


def experiment_artifact_location(tracking_uri: str, artifact_root: str | None, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: ``<artifact_root>/<experiment>`` when a root is set,
    else beside a ``sqlite:////dir/mlflow.db`` store (``/dir/mlartifacts/<experiment>``); None leaves
    it to MLflow."""
    if artifact_root:
        return f"{artifact_root_uri(artifact_root)}/{quote(experiment, safe='/')}"
    default = default_artifact_root(tracking_uri)
    return (default / experiment).as_uri() if default else None


def quiet_mlflow_environment() -> None:
    """Telemetry off and no extra noise, before mlflow is imported."""
    os.environ.update(TELEMETRY_OFF)
    for key, value in _QUIET.items():
        os.environ.setdefault(key, value)


class Tracker:
    """MLflow access for one tracking URI; new experiments keep their artifacts under ``artifact_root``
    (default: ``MODELGATE_MLFLOW_ARTIFACTS`` from the environment, else beside a SQLite store)."""

    def __init__(self, tracking_uri: str, artifact_root: str | None = None) -> None:
        quiet_mlflow_environment()
        import mlflow

        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root or os.environ.get(ARTIFACTS_VARIABLE) or None
        self._mlflow = mlflow
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def champion_version(self, model_name: str) -> int | None:
        """The version behind the ``champion`` alias; None for an unknown model or no alias."""
        from mlflow.exceptions import MlflowException

        try:
            version = self.client.get_model_version_by_alias(model_name, CHAMPION_ALIAS)
        except MlflowException as exc:
            if exc.error_code in _MISSING:
                return None
            raise
        return int(version.version)

    def model_history(
        self, model_name: str, metric: str, limit: int = HISTORY_VERSIONS
    ) -> list[HistoryPoint]:
        """``[{version, when, metric, value}]`` of the registered versions (newest ``limit``, oldest first).

        Every registered version counts (versions are registered when promoted); ``value`` is
        ``candidate.<metric>`` of the version's source run, and versions without it are left out.
        """
        from mlflow.exceptions import MlflowException

        try:
            versions = self.client.search_model_versions(f"name = '{model_name}'")
        except MlflowException as exc:
            log.warning("no history for %s: %s", model_name, str(exc).splitlines()[0])
            return []
        history: list[HistoryPoint] = []
        for version in sorted(versions, key=lambda v: int(v.version))[-limit:]:
            if version.run_id is None:  # registered without a source run: no candidate metrics
                continue
            try:
                value = self.client.get_run(version.run_id).data.metrics.get(f"candidate.{metric}")
            except MlflowException:  # a deleted source run
                value = None
            if value is not None:
                when = datetime.fromtimestamp(version.creation_timestamp / 1000, tz=UTC).isoformat()
                point: HistoryPoint = {"version": int(version.version), "when": when, "metric": metric,
                                       "value": value}
                history.append(point)
        return history

    def find_cached(self, cache_key: str, repository: str) -> dict[str, Any] | None:
        """The stored result of the newest finished run of ``repository`` with this cache key.

        Only the same repository's runs count, so no other repository can plant a result for it.
        """
        experiments = [e.experiment_id for e in self.client.search_experiments()]
        if not experiments:
            return None
        runs = self.client.search_runs(
            experiments,
            filter_string=(f"tags.`{CACHE_TAG}` = '{_quoted(cache_key)}' and attributes.status = 'FINISHED' "
                           f"and tags.`{REPOSITORY_TAG}` = '{_quoted(repository)}'"),
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not runs:
            return None
        run = runs[0]
        text = run.data.tags.get(RESULT_TAG)
        if text is None:
            import mlflow.artifacts

            text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/{RESULT_ARTIFACT}")
        data: dict[str, Any] = json.loads(text)
        data["mlflow_run_id"] = run.info.run_id
        return data

    def log_candidate(
        self,
        result: PipelineResult,
        model_dir: Path,
        config_hash: str,
        tags: Mapping[str, str],
        predictions: Any = None,
        report: ReportWriter | None = None,
        sample: str | None = None,
        params: Mapping[str, str | int | float | bool | None] | None = None,
        requirements: list[str] | None = None,
        python_version: str | None = None,
    ) -> PipelineResult:
        """One MLflow run for the candidate; returns ``result`` with its run id (also stored in the run).

        ``model_dir`` holds the job's ``model.pkl``: it is logged as files, never loaded here.

        ``report`` renders the report of the logged result; its files go to ``modelgate/report/``;
        ``sample`` (``sample_rows``) is stored for the health check of a deployment. ``requirements``
        and ``python_version`` are the environment's pins, recorded with the model.
        """
        mlflow = self._mlflow
        run_tags = {**tags, "modelgate.kind": result.kind}
        run_tags.setdefault(REPOSITORY_TAG, "local")
        if result.cache_key:
            run_tags[CACHE_TAG] = result.cache_key
        experiment_id = self._experiment_id(result.model_name or "unnamed")
        with mlflow.start_run(experiment_id=experiment_id, tags=run_tags) as run:
            run_id = run.info.run_id
            mlflow.log_params({"modelgate.config_hash": config_hash, "modelgate.kind": result.kind,
                               **(params or {})})
            champion = result.champion_metrics or {}
            mlflow.log_metrics({**{f"candidate.{k}": v for k, v in result.candidate_metrics.items()},
                                **{f"champion.{k}": v for k, v in champion.items()}})
            mlflow.set_tag(MODEL_URI_TAG, log_model_files(self.client, experiment_id, run_id, model_dir,
                                                          requirements, python_version))
            final = replace(result, mlflow_run_id=run_id, mlflow_experiment_id=experiment_id)
            if predictions is not None:
                mlflow.log_text(predictions.to_csv(index=False), PREDICTIONS_ARTIFACT)
                final = replace(final, eval_predictions=f"runs:/{run_id}/{PREDICTIONS_ARTIFACT}")
            if sample is not None:
                mlflow.log_text(sample, SAMPLE_ARTIFACT)
            if report is not None:
                directory, names = report(final)
                for name in names:
                    folder = PurePosixPath(REPORT_ARTIFACTS, name).parent.as_posix()
                    mlflow.log_artifact(str(directory / name), artifact_path=folder)
                final = replace(final, report_files=names)
            stored = json.dumps(final.as_dict(), separators=(",", ":"))
            mlflow.log_text(stored, RESULT_ARTIFACT)
            if len(stored) <= _RESULT_TAG_LIMIT:
                mlflow.set_tag(RESULT_TAG, stored)
        return final

    def _experiment_id(self, model_name: str) -> str:
        from mlflow.exceptions import MlflowException

        name = experiment_name(model_name)
        for _ in range(2):  # a concurrent job may create it between our get and create
            experiment = self.client.get_experiment_by_name(name)
            if experiment is not None:
                if experiment.lifecycle_stage == "deleted":
                    self.client.restore_experiment(experiment.experiment_id)
                return str(experiment.experiment_id)
            location = experiment_artifact_location(self.tracking_uri, self.artifact_root, name)
            try:
                return str(self.client.create_experiment(name, artifact_location=location))
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
        raise RuntimeError(f"could not create the MLflow experiment {name!r}")


def load_sample(tracking_uri: str, run_id: str) -> Any | None:
    """The sample rows stored with a run, as a DataFrame; None if the run stored none."""
    import io

    import pandas as pd

    Tracker(tracking_uri)  # configures the tracking URI and quiets MLflow
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        text = mlflow.artifacts.load_text(f"runs:/{run_id}/{SAMPLE_ARTIFACT}")
    except (MlflowException, OSError):
        return None
    return pd.read_json(io.StringIO(text), orient="split")


def _quoted(value: str) -> str:
    """A value for an MLflow filter string (single quotes doubled)."""
    return value.replace("'", "''")
