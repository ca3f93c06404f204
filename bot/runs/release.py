"""What follows a production run whose gates passed, and a rollback: move the ``champion``
alias, deploy that version as ``.modelgate.yml`` says, and mirror it as a GitHub Deployment.

A failed deploy puts the aliases back (the previous deployment keeps serving) and marks the
GitHub Deployment ``failure``. mlflow and the deployers are imported on use: only worker
threads get here, never the webhook path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.feedback.deployments import deploy_error, deploying
from bot.github import Repo
from bot.github.clients import DeploymentWriter
from bot.runs.ownership import ServeAddress
from bot.store import Desired
from pipelines.config import ModelgateConfig
from pipelines.job_process import JobPolicy

if TYPE_CHECKING:
    from pipelines.ray_serve.deployer import RayServeTarget

log = logging.getLogger(__name__)

ENVIRONMENT = "production"


@dataclass(frozen=True)
class ReleasedVersion:
    """A version now serving (or merely promoted, for ``deploy: none``)."""

    version: int
    detail: str
    url: str | None
    deployment_id: int | None
    spec: dict[str, Any]  # the deploy section it was deployed with, the App's address included

    def desired(self, repository: str, model_name: str) -> Desired:
        """The recorded deployment this release makes."""
        return Desired(repository.lower(), model_name, str(self.spec.get("kind", "none")), self.version,
                       self.url, self.spec)


@dataclass(frozen=True)
class Target:
    """Where and how to deploy: the repository, the commit recorded as deployed, its checkout, and
    for ``mlflow-serve`` the address the App decided (``Admission``; the config's alone is not used)."""

    api: DeploymentWriter
    repo: Repo
    ref: str
    config: ModelgateConfig
    workdir: Path
    address: ServeAddress | None = None


def model_uri(model_name: str, version: int) -> str:
    """The registry URI of one version."""
    return f"models:/{model_name}/{version}"


def deploy_version(
    target: Target, tracking_uri: str, version: int, run_id: str, *, description: str,
    payload: Mapping[str, Any], serve_logs: Path, policy: JobPolicy | None = None,
    handover_seconds: float = 0.0, ray_serve: RayServeTarget | None = None,
) -> ReleasedVersion:
    """Deploy ``version`` and record it as a GitHub Deployment; DeployError (status ``failure``) if
    it does not serve. A GitHub outage does not stop the deploy: the record is then missing.
    ``serve_logs``: the folder of the App's data dir where scoring servers log; scoring servers and
    deploy commands run isolated as ``policy`` says; ``ray_serve``: the App's Ray cluster (``ray-serve``)."""
    from pipelines.deploy import DeployError, deployer_for
    from pipelines.tracking import load_sample

    name = target.config.model.name
    deployment_id = _record(target, description, {"model": name, "version": version, "run_id": run_id,
                                                  **payload})
    _status(target, deployment_id, "in_progress", deploying(version))
    try:
        spec = _spec(target)
        deployer = deployer_for(spec, tracking_uri=tracking_uri, workdir=target.workdir,
                                log_dir=serve_logs, key=(str(target.repo).lower(), name), policy=policy,
                                handover_seconds=handover_seconds, ray_serve=ray_serve)
        sample = load_sample(tracking_uri, run_id) if run_id else None
        done = deployer.deploy(model_uri(name, version), version, sample)
    except Exception as exc:
        message = str(exc) if isinstance(exc, DeployError) else f"{type(exc).__name__}: {exc}"
        _status(target, deployment_id, "failure", deploy_error(version, message))
        raise DeployError(message) from exc
    _status(target, deployment_id, "success", done.detail, environment_url=done.url)
    return ReleasedVersion(version, done.detail, done.url, deployment_id, spec)


def _spec(target: Target) -> dict[str, Any]:
    """The `deploy:` section, with the App's serving address for ``mlflow-serve``."""
    from pipelines.deploy import DeployError

    spec = target.config.deploy.model_dump()
    if spec["kind"] == "mlflow-serve":
        if target.address is None:
            raise DeployError("mlflow-serve: the App decided no serving address for this model")
        spec.update(host=target.address.host, port=target.address.port)
    return spec


def _record(target: Target, description: str, payload: dict[str, Any]) -> int | None:
    try:
        return target.api.create_deployment(target.repo, target.ref, environment=ENVIRONMENT,
                                            payload=payload, description=description)
    except Exception:
        log.exception("could not record a GitHub Deployment of %s for %s", target.ref[:7], target.repo)
        return None


def _status(target: Target, deployment_id: int | None, state: str, description: str,
            environment_url: str | None = None) -> None:
    if deployment_id is None:
        return
    try:
        target.api.set_deployment_status(target.repo, deployment_id, state, description=description,
                                         environment_url=environment_url)
    except Exception:
        log.exception("could not set deployment %d of %s to %s", deployment_id, target.repo, state)
