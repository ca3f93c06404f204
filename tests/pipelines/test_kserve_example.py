"""The documented KServe example (``examples/kserve/deploy.sh``) run by the real ``command`` deployer on a
real registered version: it applies an ``InferenceService`` whose ``storageUri`` is the version's artifact
location, with ``modelFormat: mlflow``. ``kubectl`` is a recording stand-in named by the ``KUBECTL`` job
secret (the cluster is not here)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.deploy import CommandDeployer, DeployError, deployer_for
from pipelines.job_process import JobPolicy
from pipelines.model_files import artifact_location
from tests.fixtures.saved_models import registered_version

EXAMPLE = Path(__file__).parents[2] / "examples" / "kserve" / "deploy.sh"
KUBECTL = """#!{python}
import json, sys
call = {{"args": sys.argv[1:], "stdin": sys.stdin.read() if "-f" in sys.argv else ""}}
with open("kubectl-calls.jsonl", "a") as calls:
    calls.write(json.dumps(call) + "\\n")
sys.exit({code} if "wait" in sys.argv else 0)
"""


def deployer(checkout: Path, tracking_uri: str, wait_exit: int = 0) -> CommandDeployer:
    """The command deployer running the example from ``checkout``, with a kubectl stand-in."""
    (checkout / "deploy").mkdir(parents=True)
    shutil.copy(EXAMPLE, checkout / "deploy" / "kserve.sh")
    stand_in = checkout / "kubectl"
    stand_in.write_text(KUBECTL.format(python=sys.executable, code=wait_exit))
    stand_in.chmod(0o755)
    policy = JobPolicy(env={"KUBECTL": "./kubectl", "KSERVE_NAMESPACE": "ml"})
    made = deployer_for({"kind": "command", "command": "sh deploy/kserve.sh"}, tracking_uri=tracking_uri,
                        workdir=checkout, log_dir=checkout / "logs", policy=policy)
    assert isinstance(made, CommandDeployer)
    return made


def test_the_example_applies_an_inference_service_of_the_version(tmp_path: Path, tracking_uri: str) -> None:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    version = registered_version(tracking_uri, "wine-kserve", model, "k5e7")
    uri = f"models:/wine-kserve/{version}"
    done = deployer(tmp_path, tracking_uri).deploy(uri, version, None)
    assert done.detail.endswith(f"version {version} of wine-kserve is Ready on KServe (namespace ml)")
    apply, wait = [json.loads(line) for line in (tmp_path / "kubectl-calls.jsonl").read_text().splitlines()]
    assert apply["args"] == ["apply", "-n", "ml", "-f", "-"]
    manifest = yaml.safe_load(apply["stdin"])
    assert (manifest["kind"], manifest["metadata"]["name"]) == ("InferenceService", "wine-kserve")
    predictor = manifest["spec"]["predictor"]["model"]
    assert predictor["modelFormat"] == {"name": "mlflow"}
    assert predictor["storageUri"] == artifact_location(uri, tracking_uri)
    assert (Path(predictor["storageUri"].removeprefix("file://")) / "MLmodel").is_file()
    assert manifest["metadata"]["annotations"]["modelgate/version"] == str(version)
    assert wait["args"][:3] == ["wait", "-n", "ml"] and "inferenceservice/wine-kserve" in wait["args"]


def test_a_service_that_never_becomes_ready_fails_the_deploy(tmp_path: Path, tracking_uri: str) -> None:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    version = registered_version(tracking_uri, "wine-kserve", model, "k5e8")
    with pytest.raises(DeployError, match="exited with 1"):
        deployer(tmp_path, tracking_uri, wait_exit=1).deploy(f"models:/wine-kserve/{version}", version, None)
