"""The `none` and `command` deployers (real subprocesses)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from pipelines.deploy import CommandDeployer, DeployError, NoDeployer, ServeDeployer, deployer_for

TRACKING = "sqlite:////tmp/store/mlflow.db"
WRITE_ENV = """import json, os, sys
with open(sys.argv[1], "w") as out:
    json.dump(dict(os.environ), out)
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


def command_deployer(tmp_path: Path, command: str, timeout: int = 600) -> CommandDeployer:
    deployer = deployer_for({"kind": "command", "command": command, "timeout_seconds": timeout},
                            tracking_uri=TRACKING, workdir=tmp_path, log_dir=tmp_path / "serve-logs")
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


def test_command_gets_the_model_and_not_the_apps_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELGATE_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("KEEP_ME", "yes")
    deployer = command_deployer(tmp_path, script(tmp_path, WRITE_ENV) + " env.json")
    done = deployer.deploy("models:/wine/4", 4, None)
    assert (done.kind, done.url, done.version) == ("command", None, 4)
    assert done.detail.endswith("deployed 4")
    env = json.loads((tmp_path / "env.json").read_text())  # written relative to the workdir
    assert env["MODEL_URI"] == "models:/wine/4" and env["MODEL_VERSION"] == "4"
    assert env["MLFLOW_TRACKING_URI"] == TRACKING and env["KEEP_ME"] == "yes"
    assert not [key for key in env if key.startswith("MODELGATE_")]


def test_a_failing_command_reports_its_last_output(tmp_path: Path) -> None:
    deployer = command_deployer(tmp_path, script(tmp_path, FAIL))
    with pytest.raises(DeployError, match="exited with 3") as failure:
        deployer.deploy("models:/wine/4", 4, None)
    message = str(failure.value)
    assert "line 29" in message and "line 10" in message and "line 9\n" not in message


def test_a_command_that_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="cannot start"):
        command_deployer(tmp_path, "./no-such-deploy.sh").deploy("models:/wine/4", 4, None)


def test_a_slow_command_times_out(tmp_path: Path) -> None:
    deployer = command_deployer(tmp_path, script(tmp_path, SLOW), timeout=1)
    started = time.monotonic()
    with pytest.raises(DeployError, match=r"timed out after 1 s[\s\S]*starting"):
        deployer.deploy("models:/wine/4", 4, None)
    assert time.monotonic() - started < 10
