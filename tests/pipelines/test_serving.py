"""Blue/green serving: the traffic switch alone, then real `mlflow models serve` processes on 127.0.0.1."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipelines.deploy import DeployError, ServeDeployer, deployer_for
from pipelines.job_process import JobPolicy
from pipelines.serving import BlueGreen, TrafficSwitch, free_port, predict
from tests.fixtures.saved_models import registered_version

X = pd.DataFrame(np.array([[0.0, 0.0], [0.1, 0.2], [1.0, 1.0], [0.9, 1.1]]), columns=["a", "b"])
Y = [0, 0, 1, 1]
FLIPPED = [1, 1, 0, 0]
MODEL = "served-wine"
OWNER = ("octo/wine", MODEL)  # the (repository, model) a deployment belongs to


def http_backend(answer: str) -> ThreadingHTTPServer:
    """A keep-alive HTTP server on a free port answering ``answer`` to every GET."""

    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = answer.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    server.daemon_threads = True
    # a short poll interval: shutdown() waits for the loop to notice (0.5 s by default)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server


@pytest.fixture
def backends() -> Iterator[tuple[int, int]]:
    """Ports of two HTTP servers answering "blue" and "green"."""
    blue, green = http_backend("blue"), http_backend("green")
    yield blue.server_address[1], green.server_address[1]
    for server in (blue, green):
        server.shutdown()
        server.server_close()


def test_the_switch_sends_new_connections_to_the_new_backend(backends: tuple[int, int]) -> None:
    blue, green = backends
    switch = TrafficSwitch("127.0.0.1", 0, blue)
    url = f"http://127.0.0.1:{switch.port}/"
    try:
        with httpx.Client() as kept:
            assert kept.get(url).text == "blue"
            switch.switch(green)
            assert switch.backend_port == green
            assert httpx.get(url).text == "green"
            assert kept.get(url).text == "blue"  # an open connection stays with its backend
        assert [httpx.get(url).text for _ in range(5)] == ["green"] * 5
        switch.switch(blue)
        assert httpx.get(url).text == "blue"
    finally:
        switch.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_a_switch_without_a_backend_closes_connections() -> None:
    switch = TrafficSwitch("127.0.0.1", 0)
    try:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{switch.port}/", timeout=5)
    finally:
        switch.close()


def test_a_taken_stable_port_is_a_deploy_error(backends: tuple[int, int]) -> None:
    with pytest.raises(DeployError, match="cannot listen"):
        TrafficSwitch("127.0.0.1", backends[0])


def register(tracking_uri: str, labels: list[int], sha: str) -> int:
    """Log and promote a model that predicts ``labels`` for ``X``; its version."""
    return registered_version(tracking_uri, MODEL, LogisticRegression().fit(X.to_numpy(), labels), sha)


@pytest.fixture
def serve(tracking_uri: str, tmp_path: Path) -> Iterator[ServeDeployer]:
    """A mlflow-serve deployer on a free stable port; everything stopped afterwards."""
    deployer = deployer_for({"kind": "mlflow-serve", "port": free_port()}, tracking_uri=tracking_uri,
                            workdir=tmp_path, log_dir=tmp_path / "serve-logs", key=OWNER)
    assert isinstance(deployer, ServeDeployer)
    yield deployer
    BlueGreen.shutdown_all()
    with pytest.raises(httpx.ConnectError):
        httpx.get(deployer.url.removesuffix("invocations") + "ping")


@pytest.mark.e2e  # real `mlflow models serve` processes
@pytest.mark.timeout(180)  # four `mlflow models serve` starts; slow on a busy 2-core machine
def test_blue_green_deploys_keep_the_stable_address_answering(
    tracking_uri: str, serve: ServeDeployer
) -> None:
    v1, v2 = register(tracking_uri, Y, "aaa1"), register(tracking_uri, FLIPPED, "bbb2")
    first = serve.deploy(f"models:/{MODEL}/{v1}", v1, X)
    assert (first.kind, first.version, first.url) == ("mlflow-serve", 1, serve.url)
    assert predict(serve.url, X) == Y
    blue_green = BlueGreen.for_key(OWNER, port=serve.port, tracking_uri=tracking_uri, log_dir=serve.log_dir)
    blue = blue_green.server
    assert blue is not None and blue_green.current() == 1
    other = ServeDeployer(key=("octo/other", MODEL), port=serve.port, host=serve.host,
                          tracking_uri=serve.tracking_uri, log_dir=serve.log_dir)
    with pytest.raises(DeployError, match="cannot listen"):  # another repository never takes a port over
        other.deploy(f"models:/{MODEL}/{v2}", v2, X)
    assert predict(serve.url, X) == Y and blue_green.current() == 1

    second = serve.deploy(f"models:/{MODEL}/{v2}", v2, X)
    assert "replacing version 1" in second.detail
    assert predict(serve.url, X) == FLIPPED
    assert not blue.running() and not blue.socket_path.exists()
    green = blue_green.current()

    with pytest.raises(DeployError, match="cannot be read from MLflow"):
        serve.deploy(f"models:/{MODEL}/99", 99, X)
    with pytest.raises(DeployError, match="prediction on the sample failed"):
        serve.deploy(f"models:/{MODEL}/{v1}", v1, X.assign(c=1.0))
    assert blue_green.current() == green
    assert predict(serve.url, X) == FLIPPED


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from the host's /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.e2e  # a real scoring server
@pytest.mark.timeout(150)
def test_a_scoring_server_runs_isolated_and_logs_where_it_is_told(tracking_uri: str, tmp_path: Path) -> None:
    """It loads the pickle, so it gets what a job gets: its own namespaces, no network (it answers on
    a unix socket), no tracking URI; its log goes to the folder the App names (its data dir)."""
    from pipelines.scoring_server import ModelServer

    version = register(tracking_uri, Y, "ccc3")
    logs = tmp_path / "data" / "serve-logs"
    server = ModelServer(f"models:/{MODEL}/{version}", tracking_uri, logs, JobPolicy())
    try:
        server.wait_healthy(timeout=140)
        assert server.predict(X) == Y
        below = descendants(server.process.pid)
        ours = os.readlink("/proc/self/ns/net")
        assert below and all(os.readlink(f"/proc/{pid}/ns/net") != ours for pid in below)
        environ = Path(f"/proc/{below[-1]}/environ").read_bytes().decode()
        assert "MLFLOW_TRACKING_URI" not in environ and "sqlite" not in environ
    finally:
        server.stop()
    assert server.log_path.parent == logs and "Uvicorn running" in server.log_path.read_text()
    assert not server.folder.exists()
