"""``deploy: {kind: ray-serve}`` on a real local Ray head: a version is served as a Ray Serve application,
the next one replaces it in place without a failed request, a version failing its sample prediction
leaves the old one serving (and declared), ``health()`` says what answers, and ``stop()`` takes it off
the cluster; another model's application is kept through all of it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from pipelines.deploy import DeployError, Health, deployer_for
from pipelines.ray_serve.cluster import ServeApi
from pipelines.ray_serve.deployer import RayServeDeployer, RayServeTarget
from tests.fixtures.ray_head import RayHead
from tests.fixtures.saved_models import registered_version

pytestmark = [pytest.mark.ray, pytest.mark.e2e, pytest.mark.timeout(600)]

ROWS = pd.DataFrame({"x": [0.0, 1.0]})  # the sample a replica predicts before it takes traffic


def fitted(labels: list[int], features: int = 1) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0] * features, [1.0] * features], labels)


def serving(model: str, storage: Path, ray_head: RayHead, serve_url: str, tracking_uri: str
            ) -> RayServeDeployer:
    target = RayServeTarget(ray_head.address, str(storage), serve_url)
    deployer = deployer_for({"kind": "ray-serve", "num_cpus": 0.25}, tracking_uri=tracking_uri,
                            workdir=storage, log_dir=storage, key=("acme/wine", model), ray_serve=target)
    assert isinstance(deployer, RayServeDeployer)
    return deployer


def predictions(url: str) -> list[int]:
    body = {"dataframe_split": ROWS.to_dict(orient="split", index=False)}
    response = httpx.post(url, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["predictions"])


def eventually(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


class Traffic:
    """Predictions sent all along, and the status of each answer."""

    def __init__(self, url: str) -> None:
        self.url, self.answers, self._stop = url, [], threading.Event()  # type: list[int | str]
        self._thread = threading.Thread(target=self._send, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _send(self) -> None:
        body = {"dataframe_split": ROWS.to_dict(orient="split", index=False)}
        while not self._stop.wait(0.3):
            try:
                self.answers.append(httpx.post(self.url, json=body, timeout=30).status_code)
            except httpx.HTTPError as exc:
                self.answers.append(type(exc).__name__)


def test_versions_are_served_updated_in_place_and_a_failing_one_leaves_the_old_serving(
    ray_head: RayHead, serve_url: str, tmp_path: Path
) -> None:
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    storage = tmp_path / "storage"
    storage.mkdir()
    wine = serving("served-wine", storage, ray_head, serve_url, tracking_uri)
    other = serving("Other Wine", storage, ray_head, serve_url, tracking_uri)
    assert wine.url == f"{serve_url}/served-wine/invocations"
    assert wine.health() == Health(None, False, "no Ray Serve application modelgate-served-wine")
    other.deploy(f"models:/Other Wine/{registered_version(tracking_uri, 'Other Wine', fitted([0, 1]), 'o1')}",
                 1, ROWS)
    assert other.route_prefix.startswith("/other-wine-") and predictions(other.url) == [0, 1]

    first, second, broken = (registered_version(tracking_uri, "served-wine", model, sha) for model, sha in
                             ((fitted([0, 1]), "a1"), (fitted([1, 0]), "b2"), (fitted([0, 1], 2), "c3")))
    done = wine.deploy(f"models:/served-wine/{first}", first, ROWS)
    assert (done.kind, done.version, done.url) == ("ray-serve", 1, wine.url)
    assert predictions(wine.url) == [0, 1]
    assert wine.health() == Health(1, True, "Ray Serve application modelgate-served-wine is RUNNING")

    with Traffic(wine.url) as traffic:
        done = wine.deploy(f"models:/served-wine/{second}", second, ROWS)
        assert "replacing version 1" in done.detail
        assert predictions(wine.url) == [1, 0]
        with pytest.raises(DeployError, match="version 3 failed to start on Ray Serve") as failed:
            wine.deploy(f"models:/served-wine/{broken}", broken, ROWS)
    assert "2 features" in str(failed.value)  # the replica's own error, from predicting the sample
    assert traffic.answers and set(traffic.answers) == {200}, traffic.answers  # never a failed request
    assert predictions(wine.url) == [1, 0]
    assert eventually(lambda: wine.health().healthy), wine.health()
    assert wine.health().version == 2
    declared = ServeApi(ray_head.address).details()["applications"][wine.name]["deployed_app_config"]
    assert declared["args"]["version"] == 2  # the failed version is not declared: Serve does not retry it
    assert sorted(p.name for p in (storage / "serve" / wine.name).iterdir()) == ["v2"]

    wine.stop()
    assert eventually(lambda: wine.served_version() is None)
    assert wine.health().version is None and not (storage / "serve" / wine.name).exists()
    assert other.health() == Health(1, True, f"Ray Serve application {other.name} is RUNNING")
    other.stop()
    assert eventually(lambda: wine.name not in ServeApi(ray_head.address).details()["applications"]
                      and other.name not in ServeApi(ray_head.address).details()["applications"])
