"""Blue/green serving of registered models with MLflow's scoring server behind a stable address.

``TrafficSwitch`` listens on the stable port and forwards each new connection to the current
backend (an ``mlflow models serve`` process on a free port). ``BlueGreen.deploy`` starts the new
server, checks it (``/ping`` and one prediction), switches traffic to it and only then stops the
old one; a failed check stops the new server and leaves the old one serving.

The registry of ``BlueGreen`` instances is process-wide: it must live in a long-lived process
(``modelgate serve``/``worker``), never in a job subprocess, or the switch and servers die with it.
It is keyed by (repository, model), not by port: one repository's deploy never reaches another's
servers (a port another key listens on fails fast when the switch binds it).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

import httpx

from pipelines.tracking import TELEMETRY_OFF

LOCALHOST = "127.0.0.1"
ServeKey = tuple[str, str]  # (repository, model): whose deployment
STARTUP_TIMEOUT_SECONDS = 180
STOP_GRACE_SECONDS = 5
_PUMP_CHUNK = 65536


class DeployError(Exception):
    """A deployment that failed; the previous deployment (if any) keeps serving."""


APP_SETTINGS_PREFIX = "MODELGATE_"  # the App's own settings (secrets) never reach model code


def scrubbed_environment() -> dict[str, str]:
    """os.environ without the App's ``MODELGATE_*`` settings: for processes that run model or
    repository code (scoring servers, deploy commands)."""
    return {key: value for key, value in os.environ.items() if not key.startswith(APP_SETTINGS_PREFIX)}


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ("" when missing)."""
    try:
        with path.open(errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip()
    except OSError:
        return ""


class ModelServer:
    """One ``mlflow models serve`` process (its own process group) on 127.0.0.1:``port``, logging
    under ``log_dir`` (a folder of the App's data dir, never a shared, predictable /tmp path)."""

    def __init__(self, model_uri: str, port: int, tracking_uri: str, log_dir: Path) -> None:
        self.model_uri, self.port = model_uri, port
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"mlflow-serve-{port}.log"
        bin_dir = str(Path(sys.executable).parent)  # the CLI runs `uvicorn` from PATH
        env = {**scrubbed_environment(), **TELEMETRY_OFF, "MLFLOW_TRACKING_URI": tracking_uri,
               "MLFLOW_REGISTRY_URI": tracking_uri,
               "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-h", LOCALHOST,
                   "-p", str(port), "--workers", "1", "--env-manager", "local"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.pgid = self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def running(self) -> bool:
        """Whether any process of the server's group is still alive."""
        return self.process.poll() is None or _group_alive(self.pgid)

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Poll ``GET /ping`` until 200; DeployError when the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DeployError(f"mlflow models serve for {self.model_uri} exited with "
                                  f"{self.process.returncode}:\n{log_tail(self.log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/ping", timeout=2).status_code == 200:
                    return
            time.sleep(0.25)
        raise DeployError(f"mlflow models serve for {self.model_uri} not healthy after {timeout:.0f} s:\n"
                          f"{log_tail(self.log_path)}")

    def predict(self, sample: Any, timeout: float = 60) -> list[Any]:
        """Predictions for ``sample`` (a DataFrame or anything ``pandas.DataFrame()`` accepts)."""
        return predict(f"{self.base_url}/invocations", sample, timeout)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL whatever is left after 5 s."""
        signal_group(self.pgid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and self.running():
            time.sleep(0.1)
        signal_group(self.pgid, signal.SIGKILL)
        self.process.wait()


def predict(url: str, sample: Any, timeout: float = 60) -> list[Any]:
    """POST ``sample`` as ``dataframe_split`` to a scoring server's ``/invocations`` URL."""
    import pandas as pd

    frame = sample if isinstance(sample, pd.DataFrame) else pd.DataFrame(sample)
    body = '{"dataframe_split": ' + frame.to_json(orient="split", date_format="iso") + "}"
    try:
        response = httpx.post(url, content=body, timeout=timeout,
                              headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        raise DeployError(f"prediction request to {url} failed: {exc}") from exc
    if response.status_code != 200:
        raise DeployError(f"prediction on the sample failed ({response.status_code}): {response.text[:2000]}")
    predictions = json.loads(response.text)
    return list(predictions["predictions"] if isinstance(predictions, dict) else predictions)


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to a process group that may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a non-zombie process of group ``pgid`` exists (zombies may wait for a lazy init)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


class _Forward(socketserver.BaseRequestHandler):
    """Pump bytes both ways between the client and the backend chosen when it connected."""

    server: _ProxyServer

    def handle(self) -> None:
        port = self.server.backend_port
        if port is None:
            return
        try:
            backend = socket.create_connection((LOCALHOST, port), timeout=10)
        except OSError:
            return
        backend.settimeout(None)
        self.server.track(backend, True)
        try:
            upstream = threading.Thread(target=_pump, args=(self.request, backend), daemon=True)
            upstream.start()
            _pump(backend, self.request)
            upstream.join()
        finally:
            self.server.track(backend, False)
            backend.close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy until EOF or an error, then half-close ``target``."""
    with contextlib.suppress(OSError):
        while chunk := source.recv(_PUMP_CHUNK):
            target.sendall(chunk)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class _ProxyServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    backend_port: int | None = None

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Forward)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def track(self, sock: socket.socket, opened: bool) -> None:
        with self.sockets_lock:
            (self.open_sockets.add if opened else self.open_sockets.discard)(sock)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.track(request, False)
        super().shutdown_request(request)


class TrafficSwitch:
    """A threaded TCP proxy on ``host:port``; each new connection goes to the current backend port."""

    def __init__(self, host: str, port: int, backend_port: int | None = None) -> None:
        self.host = host
        try:
            self._server = _ProxyServer((host, port))
        except OSError as exc:
            raise DeployError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.port = int(self._server.server_address[1])
        self._server.backend_port = backend_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"traffic-switch-{self.port}", daemon=True)
        self._thread.start()

    @property
    def backend_port(self) -> int | None:
        return self._server.backend_port

    def switch(self, backend_port: int) -> None:
        """New connections go to ``backend_port`` (open ones stay with their backend)."""
        self._server.backend_port = backend_port  # one attribute store: atomic

    def close(self) -> None:
        """Stop listening and cut the open connections."""
        self._server.shutdown()
        self._server.server_close()
        with self._server.sockets_lock:
            sockets = list(self._server.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)


class BlueGreen:
    """Blue/green deployments of one (repository, model) behind one stable address; get it with
    ``BlueGreen.for_key``."""

    _registry: ClassVar[dict[ServeKey, BlueGreen]] = {}  # process-wide on purpose
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, host: str, port: int, tracking_uri: str, key: ServeKey = ("", ""), *, log_dir: Path
    ) -> None:
        self.host, self.port, self.tracking_uri, self.key = host, port, tracking_uri, key
        self.log_dir = log_dir  # where its scoring servers log
        self.startup_timeout: float = STARTUP_TIMEOUT_SECONDS
        self._lock = threading.Lock()
        self._switch: TrafficSwitch | None = None
        self._server: ModelServer | None = None
        self._version: int | None = None

    @classmethod
    def for_key(
        cls, key: ServeKey, *, host: str = LOCALHOST, port: int, tracking_uri: str, log_dir: Path
    ) -> BlueGreen:
        """The process's deployment of ``key`` at ``host:port``. A new one when ``key`` has none there
        yet: it takes the key's place once its first deploy serves (stopping one at another address)."""
        with cls._registry_lock:
            found = cls._registry.get(key)
        if found is None or (found.host, found.port) != (host, port):
            return cls(host, port, tracking_uri, key, log_dir=log_dir)
        found.tracking_uri, found.log_dir = tracking_uri, log_dir
        return found

    @classmethod
    def shutdown_all(cls) -> None:
        """Stop every switch and server of the process."""
        with cls._registry_lock:
            found, cls._registry = list(cls._registry.values()), {}
        for deployment in found:
            deployment.shutdown()

    @property
    def server(self) -> ModelServer | None:
        """The server behind the stable port."""
        return self._server

    def current(self) -> tuple[int, int] | None:
        """``(version, backend port)`` being served, or None."""
        if self._server is None or self._version is None:
            return None
        return self._version, self._server.port

    def deploy(self, model_uri: str, version: int, sample: Any | None) -> ModelServer:
        """Start, check, switch to the new server, then stop the old one; DeployError leaves the old."""
        with self._lock:
            if self._switch is None:
                self._switch = TrafficSwitch(self.host, self.port)  # fails fast when the port is taken
            server = ModelServer(model_uri, free_port(), self.tracking_uri, self.log_dir)
            try:
                server.wait_healthy(self.startup_timeout)
                if sample is not None:
                    server.predict(sample)
            except BaseException:
                server.stop()
                if self._server is None:
                    self._close_switch()
                raise
            self._switch.switch(server.port)
            old, self._server, self._version = self._server, server, version
            if old is not None:
                old.stop()
        self._install()
        return server

    def _install(self) -> None:
        """Make this the deployment of its key; stop the one it replaces (at another address)."""
        cls = type(self)
        with cls._registry_lock:
            if not cls._registry:
                atexit.register(cls.shutdown_all)
            replaced, cls._registry[self.key] = cls._registry.get(self.key), self
        if replaced is not None and replaced is not self:
            replaced.shutdown()

    def shutdown(self) -> None:
        """Stop the switch and the current server."""
        with self._lock:
            self._close_switch()
            if self._server is not None:
                self._server.stop()
            self._server = self._version = None

    def _close_switch(self) -> None:
        if self._switch is not None:
            self._switch.close()
            self._switch = None
