"""``modelgate demo``: the whole App offline — a GitHub stand-in, the App, and three pull requests.

Both servers run in this process on loopback ports; the demo plays the users through the
stand-in's control API and reports what the App did, step by step: a better model passes
staging, is merged, promoted and served; a worse one is blocked; a brittle one passes staging
and is merged, but the production gates keep it from being promoted.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pipelines
from bot.server import Services, build_services, create_app
from bot.settings import Settings
from bot.store import TERMINAL, RunRecord
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pipelines.serving import free_port

from github_standin.app import create_sandbox_app
from github_standin.client import SandboxClient, SandboxError
from github_standin.config import SandboxConfig
from github_standin.serving import serve

EXAMPLES = Path(pipelines.__file__).parent / "examples"
PROJECT = EXAMPLES / "wine-classifier"
BETTER_MODEL = (EXAMPLES / "wine-variants" / "better_model.py").read_text()
WORSE_MODEL = (EXAMPLES / "wine-variants" / "worse_model.py").read_text()
BRITTLE_MODEL = (EXAMPLES / "wine-variants" / "brittle_model.py").read_text()
OWNER, REPO = "acme", "wine-classifier"
APP_ID = 1
# One bottle of the wine data set, as a scoring server takes it.
SAMPLE = {"columns": ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                      "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                      "od280/od315_of_diluted_wines", "proline"],
          "data": [[13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]]}


@dataclass
class Step:
    """One thing the demo did and whether it ended as designed."""

    name: str
    ok: bool
    detail: str


@dataclass
class Scenario:
    """One pull request's story."""

    name: str
    staging: str = "not run"
    merge: str = "not tried"
    production: str = "skipped"
    model_version: int | None = None
    steps: list[Step] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.steps.append(Step(name, ok, detail))
        return ok


def _private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _wait_for_run(services: Services, pr: int, kind: str = "staging", timeout: float = 120.0
                  ) -> RunRecord | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = services.runs.list_runs(repository=f"{OWNER}/{REPO}", pr_number=pr, kind=kind)
        if runs and all(run.state in TERMINAL for run in runs):
            return runs[0]
        time.sleep(0.05)
    return None


def _open(github: SandboxClient, branch: str, files: dict[str, str | None], title: str) -> dict[str, Any]:
    head = github.commit(OWNER, REPO, files, branch=branch, author="ada")
    return github.open_pull(OWNER, REPO, branch, title=title, author="ada") | {"sha": head["sha"]}


def _staging(story: Scenario, github: SandboxClient, services: Services, opened: dict[str, Any]) -> None:
    """Wait for the staging run of a just-opened PR and record its verdict."""
    answers = [d.get("status") for d in opened.get("deliveries", [])]
    story.check("webhook accepted", answers == [202], f"pull_request.opened answered {answers}")
    run = _wait_for_run(services, opened["number"])
    verdict = (run.result or {}).get("verdict") if run else None
    story.staging = {"passed": "passed", "failed": "failed"}.get(str(verdict), "error")
    sha = opened["sha"]
    statuses = [s for s in github.state()["statuses"] if s["sha"] == sha]
    final = statuses[-1] if statuses else {}
    story.check("staging verdict", run is not None and run.state in TERMINAL,
                f"modelgate/staging = {final.get('state')}: {final.get('description')}")


def _merge(story: Scenario, github: SandboxClient, number: int) -> None:
    try:
        github.merge(OWNER, REPO, number, author="maintainer")
        story.merge = "merged"
    except SandboxError as refused:
        story.merge = "blocked"
        story.check("merge refused by branch protection", refused.status == 405,
                    f"merge answered {refused.status}: {refused.body.get('message', '')}")


def _production(story: Scenario, services: Services, number: int) -> None:
    """Wait for the merge's production run and record whether it promoted."""
    run = _wait_for_run(services, number, kind="production")
    production = ((run.result or {}) if run else {}).get("production") or {}
    story.production = {"promoted": "promoted", "rejected": "rejected"}.get(str(production.get("state")),
                                                                           "error")
    story.model_version = production.get("version") if story.production == "promoted" else None
    story.check("production run", run is not None and run.state in TERMINAL,
                str(production.get("outcome") or (run.error if run else "no production run")))


def _merged_after_staging(story: Scenario, github: SandboxClient, services: Services, number: int) -> bool:
    """Staging passed → merge → wait for production; whether the PR was merged."""
    story.check("staging passed", story.staging == "passed", f"staging {story.staging}")
    _merge(story, github, number)
    story.check("merged", story.merge == "merged", f"merge {story.merge}")
    if story.merge == "merged":
        _production(story, services, number)
    return story.merge == "merged"


def _served(story: Scenario, port: int) -> None:
    """Ask the served champion for a prediction through the stable port."""
    try:
        response = httpx.post(f"http://127.0.0.1:{port}/invocations", json={"dataframe_split": SAMPLE},
                              timeout=30)
        answer = response.json().get("predictions") if response.status_code == 200 else response.text
        ok = response.status_code == 200
    except httpx.HTTPError as exc:
        answer, ok = f"{type(exc).__name__}: {exc}", False
    story.check("served model answers", ok, f"POST :{port}/invocations → {answer}")


def _good_pr(github: SandboxClient, services: Services, serve_port: int) -> Scenario:
    story = Scenario("a better model passes staging, merges, is promoted and served")
    opened = _open(github, "tune-regularisation", {"model.py": BETTER_MODEL}, "Tune regularisation")
    _staging(story, github, services, opened)
    again = github.redeliver(opened["deliveries"][0]["guid"])
    runs = services.runs.list_runs(repository=f"{OWNER}/{REPO}", pr_number=opened["number"])
    story.check("redelivery deduplicated", again["status"] == 200 and len(runs) == 1,
                f"the same delivery again answered {again['status']}; still {len(runs)} run")
    if _merged_after_staging(story, github, services, opened["number"]):
        story.check("promoted", story.production == "promoted", f"model version {story.model_version}")
        _served(story, serve_port)
    return story


def _bad_pr(github: SandboxClient, services: Services) -> Scenario:
    story = Scenario("a worse model fails staging and is blocked")
    opened = _open(github, "simplify-model", {"model.py": WORSE_MODEL}, "Simplify the model")
    _staging(story, github, services, opened)
    story.check("staging failed", story.staging == "failed", f"staging {story.staging}")
    _merge(story, github, opened["number"])
    return story


def _brittle_pr(github: SandboxClient, services: Services) -> Scenario:
    story = Scenario("a brittle model passes staging and merges, but production does not promote it")
    opened = _open(github, "narrow-svm", {"model.py": BRITTLE_MODEL}, "Try a narrow-kernel SVM")
    _staging(story, github, services, opened)
    if _merged_after_staging(story, github, services, opened["number"]):
        story.check("not promoted", story.production == "rejected", f"production {story.production}")
    return story


def _serve_config(port: int) -> str:
    """The example's .modelgate.yml, deploying with MLflow's scoring server on ``port``."""
    config = (PROJECT / ".modelgate.yml").read_text()
    return config + f"deploy: {{kind: mlflow-serve, port: {port}}}\n"


def run_demo(json_output: bool = False, keep: bool = False) -> int:
    """Run the demo; exit status 0 only when every step ended as designed."""
    workdir = Path(tempfile.mkdtemp(prefix="modelgate-demo-"))
    key, secret = _private_key(), secrets.token_hex(16)
    sandbox_port, app_port, serve_port = free_port(), free_port(), free_port()
    sandbox_config = SandboxConfig.from_private_key(
        key, app_id=APP_ID, webhook_secret=secret, port=sandbox_port,
        webhook_url=f"http://127.0.0.1:{app_port}/api/github/webhooks",
    )
    settings = Settings(
        app_id=APP_ID, private_key=key, webhook_secret=secret, data_dir=workdir, workers=1,
        github_api_url=f"http://127.0.0.1:{sandbox_port}", public_url=f"http://127.0.0.1:{app_port}",
        serve_ports=str(serve_port),  # the one port the App lets mlflow-serve take
    )
    services = build_services(settings)
    print(f"modelgate demo: GitHub stand-in on :{sandbox_port}, App on :{app_port}, data in {workdir}")
    try:
        with serve(create_sandbox_app(sandbox_config), port=sandbox_port) as sandbox_url, \
                serve(create_app(services), port=app_port), SandboxClient(sandbox_url) as github:
            github.create_repo(OWNER, REPO, path=PROJECT, files={".modelgate.yml": _serve_config(serve_port)})
            scenarios = [_good_pr(github, services, serve_port), _bad_pr(github, services),
                         _brittle_pr(github, services)]
    finally:
        from pipelines.serving import BlueGreen

        BlueGreen.shutdown_all()  # the demo's model server
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    ok = all(step.ok for s in scenarios for step in s.steps) and bool(scenarios[0].steps)
    for scenario in scenarios:
        print(f"\n{scenario.name}")
        for step in scenario.steps:
            print(f"  {'✓' if step.ok else '✗'} {step.name}: {step.detail}")
    print(f"\n{'all steps ended as designed' if ok else 'some steps did NOT end as designed'}")
    if json_output:
        summary: dict[str, Any] = {
            "scenarios": [
                {k: v for k, v in asdict(s).items() if k != "steps"} for s in scenarios
            ],
            "report_dir": str(workdir / "reports") if keep else None,
            "ok": ok,
        }
        sys.stdout.write(json.dumps(summary) + "\n")
    return 0 if ok else 1
