"""``deploy: {kind: ray-serve}`` through the whole App on a real local Ray head: a merge is promoted and
served as a Ray Serve application, a ``/rollback`` comment brings the old version back on the same URL,
and a restarted App leaves the application as it was (nothing is redeployed). Jobs run on this host: only
the serving is Ray's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import pipelines
from pipelines.deploy import Health, deployer_for
from pipelines.ray_serve.cluster import ServeApi
from pipelines.ray_serve.deployer import RayServeDeployer
from tests.fixtures.ray_head import RayHead
from tests.fixtures.saved_models import seeded_champion
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = [pytest.mark.ray, pytest.mark.e2e, pytest.mark.timeout(900)]

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
OWNER, NAME = "acme", "wine-classifier"
CONFIG = (EXAMPLE / ".modelgate.yml").read_text().partition("  production:\n")[0] + (
    "  production:\n    - {metric: accuracy, min: 0.5}\n"
    "timeout_seconds: 300\ndeploy: {kind: ray-serve, num_cpus: 0.25}\n")
ROW = {"columns": ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                   "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                   "od280/od315_of_diluted_wines", "proline"],
       "data": [[13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]]}


def answering(base: str) -> tuple[int, list[Any]]:
    """The version answering at the application's route, and its prediction for ROW."""
    version = httpx.get(f"{base}/version", timeout=30).json()["version"]
    response = httpx.post(f"{base}/invocations", json={"dataframe_split": ROW}, timeout=30)
    assert response.status_code == 200, response.text
    return int(version), list(response.json()["predictions"])


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
        target = services.settings.ray_serve_target()
        deployer = deployer_for({"kind": "ray-serve"}, tracking_uri=tracking_uri, workdir=tmp_path,
                                log_dir=tmp_path, key=(f"{OWNER}/{NAME}", NAME), ray_serve=target)
        assert isinstance(deployer, RayServeDeployer)
        running = "Ray Serve application modelgate-wine-classifier is RUNNING"
        assert deployer.health() == Health(1, True, running)
        again = ServeApi(ray_head.address).details()["applications"]["modelgate-wine-classifier"]
        assert again["last_deployed_time_s"] == deployed["last_deployed_time_s"]  # nothing redeployed
        deployer.stop()
