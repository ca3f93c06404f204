"""Deploying a promoted model version, as the `deploy:` section of `.modelgate.yml` says.

- ``none``: promotion only (the ``champion`` alias moved; nothing is served).
- ``command``: run a command of the repository with ``MODEL_URI``/``MODEL_VERSION`` set.
- ``mlflow-serve``: blue/green MLflow scoring servers behind a stable port (``pipelines.serving``),
  one deployment per (repository, model): the caller passes that key and the address it decided.
- ``ray-serve``: a Ray Serve application named after the model on the App's Ray cluster, updated in
  place (``pipelines.ray_serve``): the caller passes the cluster (``RayServeTarget``).

Note for the lead: the mlflow-serve deployer must run in a long-lived process (the
``modelgate serve``/``worker`` process), not in a job subprocess: the traffic switch and the
scoring servers live in the process that deployed them and must outlive the job.
Every deployer raises ``DeployError`` on failure and leaves the previous deployment serving.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx

from pipelines.job_process import JobPolicy, job_environment
from pipelines.masking import Masker
from pipelines.model_files import artifact_location, copy_model_files
from pipelines.sandbox import Sandbox
from pipelines.serving import (
    LOCALHOST,
    BlueGreen,
    DeployError,
    ServeKey,
    log_tail,
    signal_group,
)
from pipelines.tracking import absolute_tracking_uri

if TYPE_CHECKING:
    from pipelines.ray_serve.deployer import RayServeTarget

__all__ = ["CommandDeployer", "DeployError", "Deployed", "Deployer", "Health", "NoDeployer", "ServeDeployer",
           "Server", "deployer_for"]

DEFAULT_COMMAND_TIMEOUT = 600
PING_TIMEOUT_SECONDS = 5
OUTPUT_LINES = 20


@dataclass(frozen=True)
class Deployed:
    """What a deployment did; ``url``: where the model answers (None when nothing is served)."""

    kind: str
    model_uri: str
    version: int
    url: str | None
    detail: str


class Deployer(Protocol):
    """Deploys one registered model version."""

    def deploy(self, model_uri: str, version: int, sample: Any | None) -> Deployed:
        """Deploy or raise DeployError (the previous deployment keeps serving)."""
        ...


@dataclass(frozen=True)
class Health:
    """What answers at a served deployment right now: ``version`` None when nothing serves."""

    version: int | None
    healthy: bool
    detail: str = ""


@runtime_checkable
class Server(Deployer, Protocol):
    """A deployer whose model keeps serving after the deploy (``mlflow-serve``, ``ray-serve``): the
    reconcile loop asks what answers and starts or stops it to match the recorded deployment."""

    @property
    def url(self) -> str:
        """The stable URL clients call."""
        ...

    def health(self) -> Health:
        """Which version answers at ``url`` and whether it is healthy (never raises for a down server)."""
        ...

    def stop(self) -> None:
        """Stop serving (nothing happens when nothing serves)."""
        ...


@dataclass(frozen=True)
class NoDeployer:
    """Promotion only."""

    def deploy(self, model_uri: str, version: int, sample: Any | None) -> Deployed:
        """Nothing to do."""
        return Deployed(kind="none", model_uri=model_uri, version=version, url=None, detail="promotion only")


@dataclass(frozen=True)
class CommandDeployer:
    """Run ``command`` (shlex-split, no shell) from ``workdir``, isolated like a job (it is the
    repository's code): it gets a copy of the version's files in ``MODEL_DIR``, never the tracking
    store, and a network only when the operator gives jobs one."""

    command: str
    timeout_seconds: float
    tracking_uri: str
    workdir: Path
    policy: JobPolicy = field(default_factory=JobPolicy)

    def environment(self, model_uri: str, version: int, model_dir: Path, scratch: Path) -> dict[str, str]:
        """A job's environment (built from nothing, plus the repository's job secrets) and the model: its
        registry URI, version, a copy of its files, and where MLflow stores them (``MODEL_ARTIFACT_URI``,
        for a serving platform that reads the store itself)."""
        return {**job_environment(self.policy, scratch), "MODEL_URI": model_uri,
                "MODEL_VERSION": str(version), "MODEL_DIR": str(model_dir),
                "MODEL_ARTIFACT_URI": artifact_location(model_uri, self.tracking_uri)}

    def deploy(self, model_uri: str, version: int, sample: Any | None) -> Deployed:
        """Run the command; DeployError on a non-zero exit or timeout (with its last output lines)."""
        try:
            args = shlex.split(self.command)
        except ValueError as exc:
            raise DeployError(f"deploy command {self.command!r} cannot be parsed: {exc}") from exc
        if not args:
            raise DeployError("the deploy command is empty")
        with tempfile.TemporaryDirectory(prefix="modelgate-deploy-") as folder:
            scratch = Path(folder)
            try:
                model_dir = copy_model_files(model_uri, self.tracking_uri, scratch / "model")
            except Exception as exc:
                raise DeployError(f"the files of {model_uri} cannot be read from MLflow: {exc}") from exc
            output = scratch / "output.log"
            env = self.environment(model_uri, version, model_dir, scratch)
            self._require_program(args[0], env["PATH"])
            sandbox = Sandbox(self.policy.isolation, readable=[model_dir], writable=[self.workdir],
                              network=self.policy.network, workdir=self.workdir)
            code = self._run(sandbox.command(args), env, output)
            tail = self.mask(log_tail(output, OUTPUT_LINES))
        if code is None:
            raise DeployError(f"deploy command {self.command!r} timed out after "
                              f"{self.timeout_seconds:g} s; last output:\n{tail}")
        if code != 0:
            raise DeployError(f"deploy command {self.command!r} exited with {code}; last output:\n{tail}")
        last = tail.splitlines()[-1] if tail else ""
        detail = f"{self.command} succeeded" + (f": {last}" if last else "")
        return Deployed(kind="command", model_uri=model_uri, version=version, url=None, detail=detail)

    def _require_program(self, program: str, path: str) -> None:
        """DeployError when the command's program is neither in the checkout nor on the job's PATH."""
        found = (self.workdir / program).is_file() if "/" in program else shutil.which(program, path=path)
        if not found:
            raise DeployError(f"deploy command {self.command!r} cannot start: no program {program!r} in "
                              "the checkout or on the job's PATH")

    def mask(self, text: str) -> str:
        """``text`` with the repository's job secrets masked."""
        return Masker(self.policy.env.values())(text)

    def _run(self, args: list[str], env: dict[str, str], output: Path) -> int | None:
        """The exit code, or None after a timeout (the whole process group is killed)."""
        with output.open("wb") as log:
            try:
                process = subprocess.Popen(args, cwd=self.workdir, env=env, stdout=log,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
            except OSError as exc:
                raise DeployError(f"deploy command {self.command!r} cannot start: {exc}") from exc
            try:
                return process.wait(timeout=self.timeout_seconds)
            except subprocess.TimeoutExpired:
                signal_group(process.pid, signal.SIGKILL)
                process.wait()
                return None


@dataclass(frozen=True)
class ServeDeployer:
    """Blue/green ``mlflow models serve`` of ``key`` (repository, model) behind ``host:port`` (see
    the module note on processes); another key never replaces its servers."""

    key: ServeKey
    port: int
    host: str
    tracking_uri: str
    log_dir: Path  # the scoring servers' logs, under the App's data dir
    policy: JobPolicy = field(default_factory=JobPolicy)  # scoring servers run the pickle: isolated
    handover_seconds: float = 0.0  # how long a first deploy waits for the port another process serves

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/invocations"

    def deploy(self, model_uri: str, version: int, sample: Any | None) -> Deployed:
        """Start and check the new server, switch the stable port to it, stop the old one."""
        blue_green = BlueGreen.for_key(self.key, host=self.host, port=self.port,
                                       tracking_uri=self.tracking_uri, log_dir=self.log_dir,
                                       policy=self.policy, handover_seconds=self.handover_seconds)
        before = blue_green.current()
        blue_green.deploy(model_uri, version, sample)
        replaced = f" (replacing version {before})" if before is not None else ""
        detail = f"version {version} serves on {self.url}{replaced}"
        return Deployed(kind="mlflow-serve", model_uri=model_uri, version=version, url=self.url,
                        detail=detail)

    def health(self) -> Health:
        """The version this process serves for the key at its address, and whether ``/ping`` answers
        through the stable port."""
        found = BlueGreen.registered(self.key)
        here = found is not None and (found.host, found.port) == (self.host, self.port)
        version = found.current() if found is not None and here else None
        if version is None:
            return Health(None, False, "nothing serves here")
        try:
            answered = httpx.get(f"http://{self.host}:{self.port}/ping", timeout=PING_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            return Health(version, False, f"/ping failed: {exc}")
        if answered.status_code != 200:
            return Health(version, False, f"/ping answered {answered.status_code}")
        return Health(version, True, "answers /ping")

    def stop(self) -> None:
        """Stop the key's switch and scoring server in this process."""
        BlueGreen.stop_key(self.key)


def deployer_for(
    spec: Mapping[str, Any], *, tracking_uri: str, workdir: Path, log_dir: Path, key: ServeKey | None = None,
    policy: JobPolicy | None = None, handover_seconds: float = 0.0, ray_serve: RayServeTarget | None = None,
) -> Deployer:
    """The deployer of a `deploy:` section (``{kind: none | command | mlflow-serve | ray-serve, ...}``);
    ``mlflow-serve`` needs ``port`` and ``key``, the (repository, model) whose deployment it is, and
    its scoring servers log under ``log_dir``. Commands and scoring servers run isolated as ``policy``
    says (the jobs' policy, with the repository's job secrets); a first ``mlflow-serve`` deploy waits up to
    ``handover_seconds`` for a port another process of the App still serves. ``ray-serve`` needs ``key``
    (its model names the application) and ``ray_serve``, the App's cluster."""
    policy = policy or JobPolicy()
    kind = spec.get("kind", "none")
    tracking_uri = absolute_tracking_uri(tracking_uri)
    if kind == "none":
        return NoDeployer()
    if kind == "command":
        return CommandDeployer(command=str(spec["command"]), tracking_uri=tracking_uri, workdir=workdir,
                               timeout_seconds=float(spec.get("timeout_seconds", DEFAULT_COMMAND_TIMEOUT)),
                               policy=policy)
    if kind == "mlflow-serve":
        if key is None or spec.get("port") is None:
            raise DeployError("mlflow-serve needs a port and the (repository, model) it serves")
        return ServeDeployer(key=key, port=int(spec["port"]), host=str(spec.get("host") or LOCALHOST),
                             tracking_uri=tracking_uri, log_dir=log_dir, policy=policy,
                             handover_seconds=handover_seconds)
    if kind == "ray-serve":
        return _ray_serve_deployer(spec, tracking_uri, key, ray_serve)
    raise DeployError(f"unknown deploy kind {kind!r}")


def _ray_serve_deployer(
    spec: Mapping[str, Any], tracking_uri: str, key: ServeKey | None, target: RayServeTarget | None
) -> Server:
    from pipelines.ray_serve.deployer import RayServeDeployer, Replicas
    from pipelines.ray_serve.names import default_route_prefix

    if target is None:
        raise DeployError("ray-serve needs the App's Ray cluster: the operator sets "
                          "MODELGATE_RAY_ADDRESS and MODELGATE_RAY_STORAGE")
    if key is None:
        raise DeployError("ray-serve needs the model it serves")
    model = key[1]
    replicas = Replicas(int(spec.get("num_replicas") or 1), float(spec.get("num_cpus") or 1.0),
                        None if spec.get("memory_mb") is None else int(spec["memory_mb"]))
    return RayServeDeployer(model, str(spec.get("route_prefix") or default_route_prefix(model)), target,
                            tracking_uri, replicas)
