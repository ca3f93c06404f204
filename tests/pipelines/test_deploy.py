"""The `none` and `command` deployers (real subprocesses, a real registered model)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from pipelines.deploy import CommandDeployer, DeployError, NoDeployer, ServeDeployer, deployer_for
from pipelines.job_process import JobPolicy
from pipelines.ray_serve.deployer import RayServeDeployer, RayServeTarget
from tests.fixtures.saved_models import registered_version

TRACKING = "sqlite:////tmp/store/mlflow.db"
WRITE_ENV = """import json, os, sys
with open(sys.argv[1], "w") as out:
    json.dump({"env": dict(os.environ), "files": sorted(os.listdir(os.environ["MODEL_DIR"]))}, out)
print("deployed", os.environ["MODEL_VERSION"])
"""
FAIL = """import sys
for n in range(30):
    print("line", n)
sys.exit(3)
"""
SLOW = """import time
print("starting", flush=True)
time.sleep(30)
"""


def script(tmp_path: Path, body: str) -> str:
    """A python script in ``tmp_path`` and the command line that runs it."""
    path = tmp_path / "deploy_script.py"
    path.write_text(body)
    return f"{sys.executable} {path.name}"


@pytest.fixture
def version(tracking_uri: str) -> str:
    """``models:/…`` of a real registered version (a command gets a copy of its files)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    return f"models:/deployed-wine/{registered_version(tracking_uri, 'deployed-wine', model, 'd3p1')}"


def command_deployer(
    tmp_path: Path, command: str, tracking_uri: str = TRACKING, timeout: int = 600,
    policy: JobPolicy | None = None,
) -> CommandDeployer:
    deployer = deployer_for({"kind": "command", "command": command, "timeout_seconds": timeout},
                            tracking_uri=tracking_uri, workdir=tmp_path, log_dir=tmp_path / "serve-logs",
                            policy=policy)
    assert isinstance(deployer, CommandDeployer)
    return deployer


def test_none_is_promotion_only(tmp_path: Path) -> None:
    deployer = deployer_for({"kind": "none"}, tracking_uri=TRACKING, workdir=tmp_path, log_dir=tmp_path)
    assert isinstance(deployer, NoDeployer)
    done = deployer.deploy("models:/wine/3", 3, None)
    assert (done.kind, done.url, done.detail, done.version) == ("none", None, "promotion only", 3)


def test_spec_kinds(tmp_path: Path) -> None:
    serve = deployer_for({"kind": "mlflow-serve", "port": 5005}, tracking_uri=TRACKING, workdir=tmp_path,
                         log_dir=tmp_path / "serve-logs", key=("acme/wine", "wine"))
    assert isinstance(serve, ServeDeployer)
    assert serve.url == "http://127.0.0.1:5005/invocations" and serve.key == ("acme/wine", "wine")
    with pytest.raises(DeployError, match="needs a port and the"):  # the App decides both
        deployer_for({"kind": "mlflow-serve", "port": 5005}, tracking_uri=TRACKING, workdir=tmp_path,
                     log_dir=tmp_path)
    with pytest.raises(DeployError, match="unknown deploy kind"):
        deployer_for({"kind": "kubernetes"}, tracking_uri=TRACKING, workdir=tmp_path, log_dir=tmp_path)


def test_ray_serve_needs_the_apps_cluster_and_serves_the_model_under_its_name(tmp_path: Path) -> None:
    target = RayServeTarget("http://head:8265", str(tmp_path), "http://head:8000")
    ray = deployer_for({"kind": "ray-serve", "num_replicas": 2, "memory_mb": 512}, tracking_uri=TRACKING,
                       workdir=tmp_path, log_dir=tmp_path, key=("acme/wine", "Wine Red"), ray_serve=target)
    assert isinstance(ray, RayServeDeployer)
    assert ray.name == "modelgate-" + ray.route_prefix[1:] and ray.route_prefix.startswith("/wine-red-")
    assert ray.url == f"http://head:8000{ray.route_prefix}/invocations"
    assert ray.replicas.actor_options() == {"num_cpus": 1.0, "memory": 512 * 1024 * 1024}
    chosen = deployer_for({"kind": "ray-serve", "route_prefix": "/models/red"}, tracking_uri=TRACKING,
                          workdir=tmp_path, log_dir=tmp_path, key=("acme/wine", "Wine Red"), ray_serve=target)
    assert isinstance(chosen, RayServeDeployer)
    assert (chosen.name, chosen.url) == (ray.name, "http://head:8000/models/red/invocations")
    with pytest.raises(DeployError, match="sets MODELGATE_RAY_ADDRESS and MODELGATE_RAY_STORAGE"):
        deployer_for({"kind": "ray-serve"}, tracking_uri=TRACKING, workdir=tmp_path, log_dir=tmp_path,
                     key=("acme/wine", "wine"))


def test_command_gets_the_models_files_its_secrets_and_nothing_of_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracking_uri: str, version: str
) -> None:
    monkeypatch.setenv("MODELGATE_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("APP_ONLY", "yes")
    policy = JobPolicy(env={"REGISTRY_TOKEN": "tok-123456"})
    deployer = command_deployer(tmp_path, script(tmp_path, WRITE_ENV) + " env.json", tracking_uri,
                                policy=policy)
    done = deployer.deploy(version, 4, None)
    assert (done.kind, done.url, done.version) == ("command", None, 4)
    assert done.detail.endswith("deployed 4")
    seen = json.loads((tmp_path / "env.json").read_text())  # written relative to the workdir
    env = seen["env"]
    assert env["MODEL_URI"] == version and env["MODEL_VERSION"] == "4"
    assert {"MLmodel", "model.pkl", "requirements.txt"} <= set(seen["files"])
    assert env["REGISTRY_TOKEN"] == "tok-123456"  # the repository's job secrets
    assert "MLFLOW_TRACKING_URI" not in env and "APP_ONLY" not in env  # no store, nothing of the App
    assert not [key for key in env if key.startswith("MODELGATE_") and key != "MODELGATE_JOB"]


def test_a_failing_command_reports_its_last_output(tmp_path: Path, tracking_uri: str, version: str) -> None:
    deployer = command_deployer(tmp_path, script(tmp_path, FAIL), tracking_uri)
    with pytest.raises(DeployError, match="exited with 3") as failure:
        deployer.deploy(version, 4, None)
    message = str(failure.value)
    assert "line 29" in message and "line 10" in message and "line 9\n" not in message


def test_a_command_that_cannot_start(tmp_path: Path, tracking_uri: str, version: str) -> None:
    with pytest.raises(DeployError, match="cannot start"):
        command_deployer(tmp_path, "./no-such-deploy.sh", tracking_uri).deploy(version, 4, None)


def test_a_version_mlflow_does_not_have(tmp_path: Path, tracking_uri: str) -> None:
    with pytest.raises(DeployError, match="cannot be read from MLflow"):
        command_deployer(tmp_path, "true", tracking_uri).deploy("models:/no-such-model/1", 1, None)


def test_a_slow_command_times_out(tmp_path: Path, tracking_uri: str, version: str) -> None:
    deployer = command_deployer(tmp_path, script(tmp_path, SLOW), tracking_uri, timeout=3)
    started = time.monotonic()
    with pytest.raises(DeployError, match=r"timed out after 3 s[\s\S]*starting"):
        deployer.deploy(version, 4, None)
    assert time.monotonic() - started < 10
