"""``deploy: {kind: ray-serve}`` on a real local Ray head (Serve started once for this module).

The deployer: a version is served as a Ray Serve application, the next one replaces it in place without
a failed request, a version failing its sample prediction leaves the old one serving (and declared),
``health()`` says what answers, and ``stop()`` takes it off the cluster; another model's application is
kept through all of it. The whole App: a merge is promoted and served, a ``/rollback`` comment brings
the old version back on the same URL, and a restarted App leaves the application as it was (nothing is
redeployed); its jobs run on this host, only the serving is Ray's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pandas as pd
import pytest

import pipelines
from bot.store import DeploymentRecord, DeploymentState, DeploymentStore
from bot.store import Health as Seen
from pipelines.deploy import DeployError, Health, deployer_for
from pipelines.ray_serve.cluster import ServeApi
from pipelines.ray_serve.deployer import RayServeDeployer, RayServeTarget
from tests.fixtures.ray_head import RayHead
from tests.fixtures.saved_models import registered_version, seeded_champion
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = [pytest.mark.ray, pytest.mark.e2e, pytest.mark.timeout(900)]

ROWS = pd.DataFrame({"x": [0.0, 1.0]})  # the sample a replica predicts before it takes traffic
EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
OWNER, NAME = "acme", "wine-classifier"
CONFIG = (EXAMPLE / ".modelgate.yml").read_text().partition("  production:\n")[0] + (
    "  production:\n    - {metric: accuracy, min: 0.5}\n"
    "timeout_seconds: 300\ndeploy: {kind: ray-serve, num_cpus: 0.25}\n")
ROW = {"columns": ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                   "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                   "od280/od315_of_diluted_wines", "proline"],
       "data": [[13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]]}


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


def answering(base: str) -> tuple[int, list[Any]]:
    """The version answering at the application's route, and its prediction for ROW."""
    version = httpx.get(f"{base}/version", timeout=30).json()["version"]
    response = httpx.post(f"{base}/invocations", json={"dataframe_split": ROW}, timeout=30)
    assert response.status_code == 200, response.text
    return int(version), list(response.json()["predictions"])


T = TypeVar("T")


def wait_until(found: Callable[[], list[T]], timeout: float) -> list[T]:
    """What ``found()`` returns once it is not empty (polled every 0.2 s); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"nothing within {timeout:g} s"
        time.sleep(0.2)
    return value


def test_a_merge_is_served_by_ray_serve_rolled_back_and_kept_through_a_restart(
    sandbox: SandboxHandle, ray_head: RayHead, serve_url: str, tmp_path: Path
) -> None:
    github, storage, data = sandbox.client, tmp_path / "storage", tmp_path / "data"
    storage.mkdir()
    settings = {"ray_address": ray_head.address, "ray_storage": str(storage), "ray_serve_url": serve_url}
    base = f"{serve_url}/{NAME}"
    with running_app(sandbox, data, **settings) as services:
        tracking_uri = str(services.settings.mlflow_tracking_uri)
        assert seeded_champion(tracking_uri, EXAMPLE, NAME, f"{OWNER}/{NAME}") == 1  # a rollback restores it
        github.create_repo(OWNER, NAME, path=EXAMPLE, files={".modelgate.yml": CONFIG})
        github.set_protection(OWNER, NAME, [])
        github.commit(OWNER, NAME, {"NOTES.md": "served by ray\n"}, branch="ray-serve", author="ada")
        pr = int(github.open_pull(OWNER, NAME, "ray-serve", author="ada", title="ray serve")["number"])
        merged = github.merge(OWNER, NAME, pr, author="maintainer")
        [production] = wait_for_runs(services, lambda r: r.kind == "production" and r.trigger ==
                                     "pull_request.merged" and r.head_sha == merged["sha"], 1, timeout=600)
        assert production.result is not None, production.error
        assert production.result["production"]["state"] == "promoted", production.result
        assert f"version 2 serves on {base}/invocations" in production.result["production"]["outcome"]
        assert answering(base)[0] == 2

        github.comment(OWNER, NAME, pr, "/rollback", author=OWNER)
        [rollback] = wait_for_runs(services, lambda r: r.kind == "rollback", 1, timeout=600)
        assert rollback.state == "succeeded", rollback.error
        assert rollback.result is not None and rollback.result["url"] == f"{base}/invocations"
        served = answering(base)
        assert served[0] == 1
        deployed = ServeApi(ray_head.address).details()["applications"]["modelgate-wine-classifier"]

    with running_app(sandbox, data, **settings) as services:  # the App restarted: the cluster kept serving
        assert answering(base) == served
        restarted = datetime.now(UTC)
        records = DeploymentStore(services.engine)

        def checked_since_restart() -> list[DeploymentRecord]:
            found = records.all()
            return found if found and (found[0].checked_at or restarted) > restarted else []

        [record] = wait_until(checked_since_restart, 120)  # the reconcile loop's first pass
        assert (record.target, record.version, record.url) == ("ray-serve", 1, f"{base}/invocations")
        assert (record.state, record.health, record.restarts) == (DeploymentState.SERVING, Seen.UP, 0)
        target = services.settings.ray_serve_target()
        deployer = deployer_for({"kind": "ray-serve"}, tracking_uri=tracking_uri, workdir=tmp_path,
                                log_dir=tmp_path, key=(f"{OWNER}/{NAME}", NAME), ray_serve=target)
        assert isinstance(deployer, RayServeDeployer)
        running = "Ray Serve application modelgate-wine-classifier is RUNNING"
        assert deployer.health() == Health(1, True, running)
        again = ServeApi(ray_head.address).details()["applications"]["modelgate-wine-classifier"]
        assert again["last_deployed_time_s"] == deployed["last_deployed_time_s"]  # nothing redeployed
        deployer.stop()
