"""Blue/green serving of registered models with MLflow's scoring server behind a stable address.

``TrafficSwitch`` listens on the stable port and forwards each new connection to the current
backend: an isolated scoring server on a unix socket (``pipelines.scoring_server``), or any TCP
port. ``BlueGreen.deploy`` starts the new
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
import errno
import json
import os
import socket
import socketserver
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from pipelines.job_process import JobPolicy

if TYPE_CHECKING:
    from pipelines.scoring_server import ModelServer

LOCALHOST = "127.0.0.1"
ServeKey = tuple[str, str]  # (repository, model): whose deployment
Backend = int | str  # a TCP port on localhost, or a unix socket's path
STARTUP_TIMEOUT_SECONDS = 180
STOP_GRACE_SECONDS = 5
_PUMP_CHUNK = 65536


class DeployError(Exception):
    """A deployment that failed; the previous deployment (if any) keeps serving."""


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


def predict(url: str, sample: Any, timeout: float = 60, transport: str | None = None) -> list[Any]:
    """POST ``sample`` as ``dataframe_split`` to a scoring server's ``/invocations`` URL (through the
    unix socket ``transport`` when given)."""
    import pandas as pd

    frame = sample if isinstance(sample, pd.DataFrame) else pd.DataFrame(sample)
    body = '{"dataframe_split": ' + frame.to_json(orient="split", date_format="iso") + "}"
    uds = None if transport is None else httpx.HTTPTransport(uds=transport)
    try:
        with httpx.Client(transport=uds, timeout=timeout) as client:
            response = client.post(url, content=body, headers={"Content-Type": "application/json"})
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


class _Forward(socketserver.BaseRequestHandler):
    """Pump bytes both ways between the client and the backend chosen when it connected."""

    server: _ProxyServer

    def handle(self) -> None:
        target = self.server.backend_port
        if target is None:
            return
        try:
            backend = _connect(target)
        except OSError:
            return
        backend.settimeout(None)
        for sock in (self.request, backend):  # no Nagle: a response written in two parts must not wait
            if sock.family in (socket.AF_INET, socket.AF_INET6):  # for the client's delayed ACK (40 ms)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


def _connect(target: Backend) -> socket.socket:
    """A connection to a backend: a unix socket's path or a TCP port on localhost."""
    if isinstance(target, str):
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.settimeout(10)
        try:
            unix.connect(target)
        except OSError:
            unix.close()
            raise
        return unix
    return socket.create_connection((LOCALHOST, target), timeout=10)


class _ProxyServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    backend_port: Backend | None = None

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


def _listen(host: str, port: int, wait_seconds: float) -> _ProxyServer:
    """The proxy listening on ``host:port``; while the port is taken, tried again for ``wait_seconds`` (the
    process that served it before hands it over: it stops within one reconcile period)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return _ProxyServer((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                raise DeployError(f"cannot listen on {host}:{port}: {exc}") from exc
            time.sleep(0.5)


class TrafficSwitch:
    """A threaded TCP proxy on ``host:port``; each new connection goes to the current backend port."""

    def __init__(
        self, host: str, port: int, backend_port: Backend | None = None, wait_seconds: float = 0.0
    ) -> None:
        self.host = host
        self._server = _listen(host, port, wait_seconds)
        self.port = int(self._server.server_address[1])
        self._server.backend_port = backend_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"traffic-switch-{self.port}", daemon=True)
        self._thread.start()

    @property
    def backend_port(self) -> Backend | None:
        return self._server.backend_port

    def switch(self, backend_port: Backend) -> None:
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
        self, host: str, port: int, tracking_uri: str, key: ServeKey = ("", ""), *, log_dir: Path,
        policy: JobPolicy | None = None, handover_seconds: float = 0.0,
    ) -> None:
        self.host, self.port, self.tracking_uri, self.key = host, port, tracking_uri, key
        # how long a first deploy waits for the port while another process of the App still serves it
        # (that process stops serving a deployment this one took over within one reconcile period)
        self.handover_seconds = handover_seconds
        self.log_dir = log_dir  # where its scoring servers log
        self.policy = policy or JobPolicy()  # scoring servers load the pickle: isolated like jobs
        self.startup_timeout: float = STARTUP_TIMEOUT_SECONDS
        self._lock = threading.Lock()
        self._switch: TrafficSwitch | None = None
        self._server: ModelServer | None = None
        self._version: int | None = None

    @classmethod
    def for_key(
        cls, key: ServeKey, *, host: str = LOCALHOST, port: int, tracking_uri: str, log_dir: Path,
        policy: JobPolicy | None = None, handover_seconds: float = 0.0,
    ) -> BlueGreen:
        """The process's deployment of ``key`` at ``host:port``. A new one when ``key`` has none there
        yet: it takes the key's place once its first deploy serves (stopping one at another address)."""
        with cls._registry_lock:
            found = cls._registry.get(key)
        if found is None or (found.host, found.port) != (host, port):
            return cls(host, port, tracking_uri, key, log_dir=log_dir, policy=policy,
                       handover_seconds=handover_seconds)
        found.tracking_uri, found.log_dir, found.policy = tracking_uri, log_dir, policy or JobPolicy()
        return found

    @classmethod
    def registered(cls, key: ServeKey) -> BlueGreen | None:
        """The process's deployment of ``key`` (one that served at least once), or None."""
        with cls._registry_lock:
            return cls._registry.get(key)

    @classmethod
    def serving_keys(cls) -> list[ServeKey]:
        """The keys the process serves."""
        with cls._registry_lock:
            return list(cls._registry)

    @classmethod
    def stop_key(cls, key: ServeKey) -> None:
        """Stop serving ``key`` in this process (its switch and server)."""
        with cls._registry_lock:
            found = cls._registry.pop(key, None)
        if found is not None:
            found.shutdown()

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

    def current(self) -> int | None:
        """The version being served, or None."""
        if self._server is None:
            return None
        return self._version

    def deploy(self, model_uri: str, version: int, sample: Any | None) -> ModelServer:
        """Start, check, switch to the new server, then stop the old one; DeployError leaves the old."""
        from pipelines.scoring_server import ModelServer

        with self._lock:
            if self._switch is None:
                self._switch = TrafficSwitch(self.host, self.port, wait_seconds=self.handover_seconds)
            server = ModelServer(model_uri, self.tracking_uri, self.log_dir, self.policy)
            try:
                server.wait_healthy(self.startup_timeout)
                if sample is not None:
                    server.predict(sample)
            except BaseException:
                server.stop()
                if self._server is None:
                    self._close_switch()
                raise
            self._switch.switch(server.backend)
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
