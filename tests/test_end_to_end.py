"""The App end to end: the GitHub stand-in sends signed webhooks to a real ``serve`` app,
whose workers call the stand-in's REST API back. Assertions read the stand-in's state.

The repository here has no ``.modelgate.yml``, so every staging run ends quickly as a
configuration failure: these tests are about the plumbing (tokens, installations, retries,
idempotent writes, supersede, recovery); tests/test_staging_e2e.py runs real pipelines."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.github import GitHubApp, Repo
from bot.server import Services, build_services, create_app
from bot.settings import Settings
from bot.store import TERMINAL, JobRequest, RunRecord, RunStore, StagingJob, migrate
from bot.webhooks.signature import sign
from github_standin.serving import serve
from tests.fixtures.standin import SandboxHandle, WebhookReceiver, workers_running

pytestmark = pytest.mark.e2e

OWNER, NAME = "acme", "wine"
FULL = f"{OWNER}/{NAME}"
FILES = {"README.md": "# wine\n", "model.py": "C = 1.0\n"}


@dataclass
class App:
    url: str
    services: Services

    def wait_for_runs(self, count: int, timeout: float = 30) -> list[RunRecord]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.services.runs.list_runs(repository=FULL, kind="staging")
            if len(runs) >= count and all(r.state in TERMINAL for r in runs):
                return sorted(runs, key=lambda r: r.id)
            time.sleep(0.05)
        raise AssertionError(f"runs did not finish: {self.services.runs.list_runs(repository=FULL)}")


def _settings(sandbox: SandboxHandle, data_dir: Path, **extra: Any) -> Settings:
    return Settings(
        app_id=sandbox.app_id, private_key=sandbox.private_key_pem, webhook_secret=sandbox.webhook_secret,
        github_api_url=sandbox.url, data_dir=data_dir, workers=1, **extra,
    )


@pytest.fixture
def app(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[App]:
    services = build_services(_settings(sandbox, tmp_path))
    with serve(create_app(services)) as url:
        sandbox.set_webhook_url(url + "/api/github/webhooks")
        yield App(url, services)


def _open_pr(sandbox: SandboxHandle, branch: str = "tune") -> tuple[str, dict[str, Any]]:
    sandbox.client.create_repo(OWNER, NAME, files=FILES)
    head = sandbox.client.commit(OWNER, NAME, {"model.py": "C = 0.5\n"}, branch=branch, author="ada")
    return head["sha"], sandbox.client.open_pull(OWNER, NAME, branch, author="ada", title="Tune C")


def _checks(sandbox: SandboxHandle, sha: str) -> list[dict[str, Any]]:
    return [c for c in sandbox.client.state()["check_runs"] if c["head_sha"] == sha]


def _calls(sandbox: SandboxHandle, operation: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.client.state()["requests"] if r["operationId"] == operation]


def test_a_pull_request_gets_a_check_run_and_a_status(sandbox: SandboxHandle, app: App) -> None:
    sha, pull = _open_pr(sandbox)
    assert [d["status"] for d in pull["deliveries"]] == [202]
    [run] = app.wait_for_runs(1)
    assert (run.state, run.kind, run.pr_number, run.head_sha) == ("failed", "staging", pull["number"], sha)
    assert run.error == "invalid .modelgate.yml"
    [check] = _checks(sandbox, sha)
    summary = (check["name"], check["status"], check["conclusion"])
    assert summary == ("modelgate / staging", "completed", "failure")
    assert ".modelgate.yml: not found at the repository root" in check["output"]["summary"]
    statuses = [(s["state"], s["description"]) for s in sandbox.client.state()["statuses"] if s["sha"] == sha]
    assert statuses[0][0] == "pending" and statuses[-1] == ("failure", "invalid .modelgate.yml")
    assert check["external_id"] == f"modelgate-run-{run.id}"
    assert run.github_refs["sha"] == sha and run.github_refs["check_run_id"] == check["id"]
    # a push to the PR: a second run, and the installation token is reused, not re-minted
    second = sandbox.client.commit(OWNER, NAME, {"model.py": "C = 0.25\n"}, branch="tune")
    runs = app.wait_for_runs(2)
    assert runs[1].head_sha == second["sha"] and runs[1].state == "failed"
    assert len(_calls(sandbox, "apps/create-installation-access-token")) == 1


def test_a_retrain_comment_runs_on_the_current_head(sandbox: SandboxHandle, app: App) -> None:
    sha, pull = _open_pr(sandbox)
    app.wait_for_runs(1)
    sandbox.client.set_permission(OWNER, NAME, "ada", "write")
    sandbox.client.comment(OWNER, NAME, pull["number"], "Data changed upstream.\n/retrain", author="ada")
    runs = app.wait_for_runs(2)
    assert runs[1].trigger == "issue_comment.retrain" and runs[1].github_refs["sha"] == sha
    assert len(_checks(sandbox, sha)) == 2  # one check run per run


def test_a_delivery_without_installation_looks_it_up(
    sandbox: SandboxHandle, app: App, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.set_webhook_url(webhook_receiver.url)
    sha, _ = _open_pr(sandbox)
    recorded = next(d for d in webhook_receiver.deliveries if d.event == "pull_request")
    payload = recorded.payload
    del payload["installation"]  # as a plain repository webhook would send it
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {k: v for k, v in recorded.headers.items() if k.lower().startswith("x-github")}
    headers |= {"X-Hub-Signature-256": sign(sandbox.webhook_secret, body), "Content-Type": "application/json"}
    assert httpx.post(app.url + "/api/github/webhooks", content=body, headers=headers).status_code == 202
    [run] = app.wait_for_runs(1)
    assert run.installation_id is None and run.github_refs["sha"] == sha
    assert len(_calls(sandbox, "apps/get-repo-installation")) == 1
    assert len(_checks(sandbox, sha)) == 1


@pytest.mark.parametrize("status", [500, 403, 429])
def test_failing_github_never_duplicates_a_check_run(
    sandbox: SandboxHandle, app: App, status: int
) -> None:
    sandbox.client.add_fault("checks/create", status, count=1)
    sha, _ = _open_pr(sandbox)
    [run] = app.wait_for_runs(1)
    assert run.github_refs["sha"] == sha
    assert len(_checks(sandbox, sha)) == 1
    statuses = [r["status"] for r in _calls(sandbox, "checks/create")]
    assert statuses == [status, 201]


def test_a_run_for_an_outdated_head_is_superseded(sandbox: SandboxHandle, app: App) -> None:
    sandbox.set_webhook_url(None)  # the App hears nothing: we queue the stale run ourselves
    old_sha, pull = _open_pr(sandbox)
    new = sandbox.client.commit(OWNER, NAME, {"model.py": "C = 2.0\n"}, branch="tune")
    job = JobRequest(FULL, None, pull["number"], old_sha, "pull_request.opened", StagingJob())
    app.services.runs.enqueue(job)
    assert app.services.pool is not None
    app.services.pool.wake()
    [run] = app.wait_for_runs(1)
    assert (run.state, run.error) == ("superseded", f"superseded by {new['sha'][:7]}")
    [check] = _checks(sandbox, old_sha)
    assert check["conclusion"] == "cancelled"
    final = [s for s in sandbox.client.state()["statuses"] if s["sha"] == old_sha][-1]
    assert (final["state"], final["description"]) == ("error", f"superseded by {new['sha'][:7]}")


def test_a_run_abandoned_by_dead_workers_fails_visibly(sandbox: SandboxHandle, tmp_path: Path) -> None:
    sandbox.set_webhook_url(None)
    sha, pull = _open_pr(sandbox)
    services = build_services(_settings(sandbox, tmp_path, max_attempts=1))
    migrate(services.engine)
    # a worker claimed the run ten minutes ago, opened its check run, then died
    past = datetime.now(UTC) - timedelta(minutes=10)
    dead: Callable[[], datetime] = lambda: past  # noqa: E731
    store = RunStore(services.engine, now=dead)
    run = store.enqueue(JobRequest(FULL, None, pull["number"], sha, "pull_request.opened", StagingJob()))
    store.claim("dead-worker")
    api = GitHubApp(sandbox.app_id, sandbox.private_key_pem, sandbox.url).for_repository(FULL, None)
    check_id = api.create_check_run(Repo(OWNER, NAME), name="modelgate / staging", head_sha=sha,
                                    external_id=f"modelgate-run-{run.id}", status="in_progress")
    store.remember(run.id, "check_run_id", check_id)
    store.remember(run.id, "sha", sha)
    with serve(create_app(services)):  # startup recovery finds the dead worker's run
        failed = workers_running(services).runs.get(run.id)
    assert failed is not None and failed.state == "failed"
    [check] = _checks(sandbox, sha)
    assert (check["status"], check["conclusion"]) == ("completed", "failure")
    statuses = [s for s in sandbox.client.state()["statuses"] if s["sha"] == sha]
    assert [(s["context"], s["state"]) for s in statuses] == [("modelgate/staging", "error")]


def test_redelivering_a_webhook_changes_nothing(sandbox: SandboxHandle, app: App) -> None:
    _, pull = _open_pr(sandbox)
    [delivery] = pull["deliveries"]
    app.wait_for_runs(1)
    again = sandbox.client.redeliver(delivery["guid"])
    assert (again["guid"], again["redelivery"], again["status"]) == (delivery["guid"], True, 200)
    assert len(app.services.runs.list_runs(repository=FULL, kind="staging")) == 1
    assert app.services.deliveries.get(delivery["guid"]) is not None


def test_a_half_started_run_never_leaves_its_check_run_in_progress(sandbox: SandboxHandle, app: App) -> None:
    # the worker claims the run before any acknowledgement: its own first status is the one that fails
    assert app.services.acknowledger is not None
    app.services.acknowledger.stop()
    sandbox.client.add_fault("repos/create-commit-status", 500, count=1)  # after the check run exists
    sha, _ = _open_pr(sandbox)
    [run] = app.wait_for_runs(1)
    assert run.state == "failed"
    [check] = _checks(sandbox, sha)
    assert (check["status"], check["conclusion"]) == ("completed", "failure")
    final = [s for s in sandbox.client.state()["statuses"] if s["sha"] == sha][-1]
    assert final["state"] == "error"
