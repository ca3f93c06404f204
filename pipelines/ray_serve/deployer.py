"""``RayServeDeployer``: a model's champion served as a Ray Serve application on the App's Ray cluster.

A deploy copies the version's files out of MLflow into the Ray storage, declares the application with
the new version (Serve's REST API, the other applications kept as they are) and waits: Serve starts the
new replicas beside the old ones, each loading the model and predicting the sample rows before it
takes traffic, and stops the old ones only then. A version that fails leaves the old replicas serving;
the old declaration is then put back (the cluster does not retry the failed one) and DeployError
raised. The application runs on the cluster, never in the App: it gets the version's files and pins,
the serving code, and no setting, secret or credential of the App's.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import pipelines
from pipelines.deploy import Deployed, Health
from pipelines.model_files import copy_model_files
from pipelines.ray_serve.cluster import (
    DECLARATIONS,
    FAILED_STATUSES,
    ServeApi,
    declaration,
    declared_config,
    failure_message,
    route_holder,
)
from pipelines.ray_serve.files import ServedFiles
from pipelines.ray_serve.names import app_name
from pipelines.runtimes import default_runtime, read_recorded, serving_requirements
from pipelines.serving import DeployError
from pipelines.tracking import TELEMETRY_OFF

log = logging.getLogger(__name__)
IMPORT_PATH = "pipelines.ray_serve.replica:app"
STARTUP_TIMEOUT_SECONDS = 300.0  # a version with its own pins waits for Ray's uv to install them
POLL_SECONDS = 0.5
PROBE_SECONDS = 5.0
EXCLUDES = ["__pycache__/", "*.pyc", ".ruff_cache/"]


@dataclass(frozen=True)
class RayServeTarget:
    """The cluster that serves: its dashboard (``MODELGATE_RAY_ADDRESS``), the storage its nodes read
    (``MODELGATE_RAY_STORAGE``) and the Serve HTTP base clients call (``MODELGATE_RAY_SERVE_URL``)."""

    address: str
    storage: str
    serve_url: str


@dataclass(frozen=True)
class Replicas:
    """What each application's replicas get, from the repository's `deploy:` section."""

    num_replicas: int = 1
    num_cpus: float = 1.0
    memory_mb: int | None = None

    def actor_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"num_cpus": self.num_cpus}
        if self.memory_mb is not None:
            options["memory"] = self.memory_mb * 1024 * 1024
        return options


def serving_runtime_env(pins: list[str]) -> dict[str, Any]:
    """The application's runtime environment: the serving code, MLflow's telemetry off, and for a
    version recorded with other packages than the App's, its pins (Ray's ``uv``); nothing else."""
    env: dict[str, Any] = {"py_modules": [str(Path(pipelines.__file__).resolve().parent)],
                           "excludes": list(EXCLUDES), "env_vars": dict(TELEMETRY_OFF)}
    if pins and not default_runtime().same_packages(pins):
        env["uv"] = {"packages": [*pins, *serving_requirements()]}
    return env


@dataclass(frozen=True)
class RayServeDeployer:
    """The Ray Serve application of ``model`` at ``route_prefix`` (a ``pipelines.deploy.Server``)."""

    model: str
    route_prefix: str
    target: RayServeTarget
    tracking_uri: str
    replicas: Replicas = Replicas()
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS

    @property
    def name(self) -> str:
        """The Serve application's name."""
        return app_name(self.model)

    @property
    def base(self) -> str:
        return self.target.serve_url.rstrip("/") + self.route_prefix

    @property
    def url(self) -> str:
        return f"{self.base}/invocations"

    def deploy(self, model_uri: str, version: int, sample: Any | None) -> Deployed:
        """Update the application to ``version`` in place; DeployError leaves the old version serving."""
        api, files = ServeApi(self.target.address), ServedFiles(self.target.storage, self.name)
        app = self._application(api, files, model_uri, version, sample)
        before: dict[str, Any] | None = None
        read = declared = False
        try:
            with DECLARATIONS:  # read-modify-write; the wait below holds no lock
                details = api.details()
                before, read = declared_config(details, self.name), True
                holder = route_holder(details, self.name, self.route_prefix)
                if holder is not None:
                    raise DeployError(f"route prefix {self.route_prefix} overlaps the one of Ray Serve "
                                      f"application {holder}: choose another deploy.route_prefix")
                api.put(declaration(details, self.name, app))
                declared = True
            self._await(api, app, version)
        except DeployError:
            if declared:
                self._restore(api, before)
            if read and _files_of(before) != app["args"]["files"]:
                files.remove(version)  # never the files the old version's replicas would restart from
            raise
        files.keep_only(version)
        replaced = _version_of(before)
        detail = f"version {version} serves on {self.url} (Ray Serve application {self.name}" + (
            f", replacing version {replaced})" if replaced not in (None, version) else ")")
        return Deployed(kind="ray-serve", model_uri=model_uri, version=version, url=self.url, detail=detail)

    def health(self) -> Health:
        """The application's status on the cluster and the version its replicas answer with."""
        try:
            found = ServeApi(self.target.address).details().get("applications", {}).get(self.name)
        except DeployError as exc:
            return Health(None, False, str(exc))
        if found is None:
            return Health(None, False, f"no Ray Serve application {self.name}")
        status = str(found.get("status"))
        served = self.served_version()
        if served is None:
            return Health(None, False, f"Ray Serve application {self.name} is {status}; {self.base} does "
                                       "not answer")
        return Health(served, status == "RUNNING", f"Ray Serve application {self.name} is {status}")

    def stop(self) -> None:
        """Take the application off the cluster and remove its files from the storage."""
        with DECLARATIONS:
            api = ServeApi(self.target.address)
            details = api.details()
            if self.name in details.get("applications", {}):
                api.put(declaration(details, self.name, None))
            ServedFiles(self.target.storage, self.name).remove()

    def served_version(self) -> int | None:
        """The version that answers at the route prefix (``GET …/version``), or None."""
        try:
            response = httpx.get(f"{self.base}/version", timeout=PROBE_SECONDS)
            return int(response.json()["version"]) if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None

    def _application(
        self, api: ServeApi, files: ServedFiles, model_uri: str, version: int, sample: Any | None
    ) -> dict[str, Any]:
        """The version's files put on the storage, and the application that serves them."""
        with tempfile.TemporaryDirectory(prefix="modelgate-ray-serve-") as scratch:
            try:
                model_dir = copy_model_files(model_uri, self.tracking_uri, Path(scratch) / "model")
            except Exception as exc:
                raise DeployError(f"the files of {model_uri} cannot be read from MLflow: {exc}") from exc
            pins, _ = read_recorded(model_dir)
            try:
                url = files.put(version, model_dir, sample)
            except Exception as exc:
                raise DeployError(f"the files of {model_uri} cannot be put on the Ray storage "
                                  f"{self.target.storage}: {exc}") from exc
        replicas = self.replicas
        args = {"files": url, "version": version, "model": self.model, "num_replicas": replicas.num_replicas,
                "ray_actor_options": replicas.actor_options()}
        return {"name": self.name, "route_prefix": self.route_prefix, "import_path": IMPORT_PATH,
                "runtime_env": api.upload(serving_runtime_env(pins)), "args": args}

    def _restore(self, api: ServeApi, before: dict[str, Any] | None) -> None:
        """Declare the application as it was (none when there was none): Serve stops retrying the
        failed version, and the old replicas, which kept serving, match the declaration again."""
        try:
            with DECLARATIONS:
                api.put(declaration(api.details(), self.name, before))
        except DeployError as exc:
            log.error("Ray Serve application %s keeps its failed declaration: %s", self.name, exc)

    def _await(self, api: ServeApi, app: dict[str, Any], version: int) -> None:
        """Until the application runs ``app`` and its route answers with ``version``; DeployError when
        the update fails, is replaced meanwhile, or takes longer than ``startup_timeout``."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            found = api.details().get("applications", {}).get(self.name) or {}
            if (found.get("deployed_app_config") or {}).get("args") != app["args"]:
                raise DeployError(f"Ray Serve application {self.name} was declared anew during the update")
            status = str(found.get("status"))
            if status in FAILED_STATUSES:
                raise DeployError(f"version {version} failed to start on Ray Serve ({status}); the previous "
                                  f"version keeps serving:\n{failure_message(found)}")
            if status == "RUNNING" and self.served_version() == version:
                return
            if time.monotonic() >= deadline:
                unseen = f"; {self.base}/version does not answer it: is MODELGATE_RAY_SERVE_URL right?" if (
                    status == "RUNNING") else ""
                raise DeployError(f"version {version} did not serve on Ray Serve within "
                                  f"{self.startup_timeout:g} s (application {self.name} is {status}{unseen})")
            time.sleep(POLL_SECONDS)


def _version_of(app: dict[str, Any] | None) -> int | None:
    """The version a declared application serves."""
    version = ((app or {}).get("args") or {}).get("version")
    return int(version) if version is not None else None


def _files_of(app: dict[str, Any] | None) -> str | None:
    return ((app or {}).get("args") or {}).get("files")

