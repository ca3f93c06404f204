"""A model as files, both ways: logging a job's saved model to MLflow (the MLflow model folder is
written around the job's ``model.pkl``: MLmodel, requirements, environments) without ever loading
the pickle, and copying a registered version's files out of MLflow (``copy_model_files``).

The flavors are MLflow's own (``sklearn`` with cloudpickle serialization, ``python_function``), so
``mlflow models serve`` and ``mlflow.pyfunc.load_model`` load it like any logged scikit-learn model.
The requirements are explicit: the exact pins of the environment the model was trained in (the
repository's, ``pipelines.runtimes``), or the App runtime's scikit-learn and cloudpickle.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

MODEL_NAME = "model"
PICKLE = "model.pkl"


def job_requirements() -> list[str]:
    """The packages a saved model needs to load: the job runtime's, pinned (read from their
    metadata: importing scikit-learn only for its version costs most of a second)."""
    return [f"{name}=={version(name)}" for name in ("scikit-learn", "cloudpickle")]


def log_model_files(
    client: Any, experiment_id: str, run_id: str, model_dir: Path,
    requirements: list[str] | None = None, python_version: str | None = None,
) -> str:
    """Log ``model_dir/model.pkl`` as the run's MLflow model with ``requirements`` (default: the App
    runtime's) and ``python_version``; returns its ``models:/m-…`` URI."""
    import yaml
    from mlflow.entities import LoggedModelStatus
    from mlflow.models import Model
    from mlflow.utils.environment import _mlflow_conda_env, _PythonEnv

    with warnings.catch_warnings():  # MLflow's own type-hint notice about its pyfunc wrappers, on import
        warnings.filterwarnings("ignore", message=".*inferred as AnyType", category=UserWarning)
        from mlflow.pyfunc import add_to_model

    logged = client.create_logged_model(experiment_id=experiment_id, name=MODEL_NAME, source_run_id=run_id)
    requirements = list(requirements or job_requirements())
    with tempfile.TemporaryDirectory(prefix="modelgate-model-") as scratch:
        folder = Path(scratch)
        shutil.copyfile(model_dir / PICKLE, folder / PICKLE)
        described = Model(artifact_path=logged.artifact_location, run_id=run_id, model_id=logged.model_id)
        add_to_model(described, loader_module="mlflow.sklearn", model_path=PICKLE,
                     env={"virtualenv": "python_env.yaml", "conda": "conda.yaml"})
        described.add_flavor("sklearn", pickled_model=PICKLE, code=None, serialization_format="cloudpickle",
                             sklearn_version=_pinned(requirements, "scikit-learn"))
        described.save(str(folder / "MLmodel"))
        (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        _PythonEnv(python=python_version, dependencies=["-r requirements.txt"]).to_yaml(
            str(folder / "python_env.yaml"))
        conda = _mlflow_conda_env(additional_pip_deps=requirements)
        (folder / "conda.yaml").write_text(yaml.safe_dump(conda, sort_keys=False), encoding="utf-8")
        client.log_model_artifacts(logged.model_id, str(folder))
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return f"models:/{logged.model_id}"


def _pinned(requirements: list[str], name: str) -> str:
    """The version ``requirements`` pin for ``name`` (else the App's own)."""
    for line in requirements:
        package, _, pinned = line.partition("==")
        if package.strip().lower().replace("_", "-") == name and pinned:
            return pinned.strip()
    return version(name)


def copy_model_files(model_uri: str, tracking_uri: str, target: Path) -> Path:
    """The files of ``model_uri`` (``models:/name/version``) in ``target``: read from MLflow, not loaded."""
    import mlflow.artifacts

    target.mkdir(parents=True, exist_ok=True)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(target),
                                                    tracking_uri=tracking_uri))


def artifact_location(model_uri: str, tracking_uri: str) -> str:
    """Where the files of ``model_uri`` (``models:/name/version``) are stored (``s3://…``, ``file:…``): what
    a serving platform outside the App reads (e.g. a KServe ``storageUri``)."""
    from mlflow.tracking import MlflowClient

    name, _, version = model_uri.removeprefix("models:/").rpartition("/")
    return str(MlflowClient(tracking_uri=tracking_uri).get_model_version_download_uri(name, version))
