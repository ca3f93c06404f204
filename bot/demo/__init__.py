"""``modelgate demo``: the whole App offline — a GitHub stand-in, the App, and a pull request.

Both servers run in this process on loopback ports; the demo plays the users through the
stand-in's control API and reports what the App did, step by step.
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

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import pipelines
from bot.sandbox import SandboxClient, SandboxConfig, SandboxError, create_sandbox_app
from bot.server import Services, build_services, create_app
from bot.serving import free_port, serve
from bot.settings import Settings
from bot.store import TERMINAL, RunRecord

EXAMPLES = Path(pipelines.__file__).parent / "examples"
PROJECT = EXAMPLES / "wine-classifier"
BETTER_MODEL = (EXAMPLES / "wine-variants" / "better_model.py").read_text()
WORSE_MODEL = (EXAMPLES / "wine-variants" / "worse_model.py").read_text()
OWNER, REPO = "acme", "wine-classifier"
APP_ID = 1


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


def _wait_for_run(services: Services, pr: int, timeout: float = 60.0) -> RunRecord | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = services.runs.list_runs(repository=f"{OWNER}/{REPO}", pr_number=pr)
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


def _good_pr(github: SandboxClient, services: Services) -> Scenario:
    story = Scenario("a better model passes staging and merges")
    opened = _open(github, "tune-regularisation", {"model.py": BETTER_MODEL}, "Tune regularisation")
    _staging(story, github, services, opened)
    again = github.redeliver(opened["deliveries"][0]["guid"])
    runs = services.runs.list_runs(repository=f"{OWNER}/{REPO}", pr_number=opened["number"])
    story.check("redelivery deduplicated", again["status"] == 200 and len(runs) == 1,
                f"the same delivery again answered {again['status']}; still {len(runs)} run")
    story.check("staging passed", story.staging == "passed", f"staging {story.staging}")
    _merge(story, github, opened["number"])
    story.check("merged", story.merge == "merged", f"merge {story.merge}")
    return story


def _bad_pr(github: SandboxClient, services: Services) -> Scenario:
    story = Scenario("a worse model fails staging and is blocked")
    opened = _open(github, "simplify-model", {"model.py": WORSE_MODEL}, "Simplify the model")
    _staging(story, github, services, opened)
    story.check("staging failed", story.staging == "failed", f"staging {story.staging}")
    _merge(story, github, opened["number"])
    return story


def run_demo(json_output: bool = False, keep: bool = False) -> int:
    """Run the demo; exit status 0 only when every step ended as designed."""
    workdir = Path(tempfile.mkdtemp(prefix="modelgate-demo-"))
    key, secret = _private_key(), secrets.token_hex(16)
    sandbox_port, app_port = free_port(), free_port()
    sandbox_config = SandboxConfig.from_private_key(
        key, app_id=APP_ID, webhook_secret=secret, port=sandbox_port,
        webhook_url=f"http://127.0.0.1:{app_port}/api/github/webhooks",
    )
    settings = Settings(
        app_id=APP_ID, private_key=key, webhook_secret=secret, data_dir=workdir, workers=1,
        github_api_url=f"http://127.0.0.1:{sandbox_port}", public_url=f"http://127.0.0.1:{app_port}",
    )
    services = build_services(settings)
    print(f"modelgate demo: GitHub stand-in on :{sandbox_port}, App on :{app_port}, data in {workdir}")
    try:
        with serve(create_sandbox_app(sandbox_config), port=sandbox_port) as sandbox_url, \
                serve(create_app(services), port=app_port), SandboxClient(sandbox_url) as github:
            github.create_repo(OWNER, REPO, path=PROJECT)
            scenarios = [_good_pr(github, services), _bad_pr(github, services)]
    finally:
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
            "report_dir": str(workdir) if keep else None,
            "ok": ok,
        }
        sys.stdout.write(json.dumps(summary) + "\n")
    return 0 if ok else 1
