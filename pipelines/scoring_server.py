"""One isolated MLflow scoring server: the model version's files, copied out of MLflow by the trusted
side, served by MLflow's own scoring app (uvicorn) inside a sandbox without network, answering on a
unix socket that only the App's traffic switch and health checks reach.

A scoring server unpickles the model, which is a repository's code, so it runs like a job: no
settings, no tracking URI, no database, no network (``pipelines.sandbox``). A model saved with other
packages than the App's (a repository's environment) is served in its own: its recorded pins plus
MLflow's scoring app (``mlflow-skinny`` of the App's MLflow version, uvicorn), built and cached like a
job's environment and kept from eviction while the server runs.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from pipelines.checkout import StepError
from pipelines.job_process import JobPolicy, job_environment
from pipelines.model_files import copy_model_files
from pipelines.runtimes import (
    JobRuntime,
    default_runtime,
    read_recorded,
    recorded_runtime,
    serving_requirements,
)
from pipelines.sandbox import Sandbox
from pipelines.serving import (
    STARTUP_TIMEOUT_SECONDS,
    STOP_GRACE_SECONDS,
    DeployError,
    log_tail,
    predict,
    signal_group,
)
from pipelines.tracking import TELEMETRY_OFF

SOCKET_NAME = "server.sock"
MODEL_FOLDER = "model"
_MODEL_PATH_VARIABLE = "__pyfunc_model_path__"  # what mlflow.pyfunc.scoring_server.app loads


class ModelServer:
    """One scoring server of ``model_uri``, in its own sandbox and process group, on a unix socket;
    its log goes to ``log_dir`` (a folder of the App's data dir)."""

    def __init__(self, model_uri: str, tracking_uri: str, log_dir: Path, policy: JobPolicy) -> None:
        self.model_uri = model_uri
        # short (a unix socket path holds ~100 bytes), private (0700) and removed by stop()
        self.folder = Path(tempfile.mkdtemp(prefix="modelgate-serve-"))
        self.socket_path = self.folder / SOCKET_NAME
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"mlflow-serve-{self.folder.name}.log"
        try:
            model_dir = copy_model_files(model_uri, tracking_uri, self.folder / MODEL_FOLDER)
        except Exception as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise DeployError(f"the files of {model_uri} cannot be read from MLflow: {exc}") from exc
        self._lease = contextlib.ExitStack()  # the model's environment, while the server runs
        runtime = self._runtime(model_dir, policy)
        sandbox = Sandbox(policy.isolation, writable=[self.folder], workdir=self.folder,  # never a network
                          extra_runtime=runtime.folders)
        argv = [str(runtime.python or sys.executable), "-m", "uvicorn", "--uds", str(self.socket_path),
                "--workers", "1", "--no-access-log", "mlflow.pyfunc.scoring_server.app:app"]
        command = sandbox.command(argv)
        env = {**job_environment(policy, self.folder, runtime.python), **TELEMETRY_OFF,
               _MODEL_PATH_VARIABLE: str(model_dir)}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.folder)
        self.pgid = self.process.pid

    def _runtime(self, model_dir: Path, policy: JobPolicy) -> JobRuntime:
        """The App's runtime when the model was saved in it; otherwise its own environment."""
        pins, python = read_recorded(model_dir)
        app = default_runtime()
        if not pins or app.same_packages(pins) or policy.environments is None:
            return app
        serving = [*serving_requirements(), "uvicorn"]
        try:
            return self._lease.enter_context(
                recorded_runtime([*pins, *serving], python, policy, "the model's recorded requirements"))
        except StepError as exc:
            self._lease.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise DeployError(f"the environment of {self.model_uri} cannot be built: {exc.message}") from exc

    @property
    def backend(self) -> str:
        """Where the traffic switch sends connections: the unix socket's path."""
        return str(self.socket_path)

    def _client(self, timeout: float) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(uds=self.backend), timeout=timeout)

    def running(self) -> bool:
        """Whether the server's process is still alive."""
        return self.process.poll() is None

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Poll ``GET /ping`` until 200; DeployError when the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        with self._client(2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise DeployError(f"the scoring server of {self.model_uri} exited with "
                                      f"{self.process.returncode}:\n{log_tail(self.log_path)}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("http://scoring/ping").status_code == 200:
                        return
                time.sleep(0.25)
        raise DeployError(f"the scoring server of {self.model_uri} is not healthy after {timeout:.0f} s:\n"
                          f"{log_tail(self.log_path)}")

    def predict(self, sample: Any, timeout: float = 60) -> list[Any]:
        """Predictions for ``sample`` (a DataFrame or anything ``pandas.DataFrame()`` accepts)."""
        return predict("http://scoring/invocations", sample, timeout, transport=self.backend)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL whatever is left after the grace period; remove the files."""
        signal_group(self.pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        signal_group(self.pgid, signal.SIGKILL)
        self.process.wait()
        self._lease.close()
        shutil.rmtree(self.folder, ignore_errors=True)
