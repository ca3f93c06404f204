"""Deployments outlive the App: ``modelgate serve`` as users run it (its own process, SQLite, the sandbox on)
promotes a merged PR and serves it with ``mlflow-serve``; it is killed with ``kill -9`` and started again
on the same data directory, and the same version answers on the same stable port within one reconcile
period. ``modelgate deployments`` shows the truth at each step; ``stop`` and ``start`` are recorded and
the reconcile loop acts on them; ``/rollback`` switches the served version."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import pipelines
from pipelines.serving import free_port
from tests.fixtures.example_repo import WINE_SAMPLE
from tests.fixtures.serve_process import ServeProcess, popen_serve
from tests.fixtures.standin import SandboxHandle

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
BETTER_MODEL = (EXAMPLE.parent / "wine-variants" / "better_model.py").read_text()
OWNER, NAME, MODEL = "acme", "wine-classifier", "wine-classifier"
RECONCILE_SECONDS = 3
LENIENT = "  production:\n    - {metric: accuracy, min: 0.5}\n"



def config(serve_port: int) -> str:
    """The example's .modelgate.yml with lenient production gates and ``mlflow-serve`` on ``serve_port``."""
    head, _, _ = (EXAMPLE / ".modelgate.yml").read_text().partition("  production:\n")
    return head + LENIENT + f"timeout_seconds: 300\ndeploy: {{kind: mlflow-serve, port: {serve_port}}}\n"


class App:
    """``modelgate serve`` on a fixed port and data directory, restartable; the stand-in delivers to it."""

    def __init__(self, sandbox: SandboxHandle, data_dir: Path, serve_port: int) -> None:
        self.sandbox, self.data_dir, self.port, self.serve_port = sandbox, data_dir, free_port(), serve_port
        self.settings = {
            "MODELGATE_APP_ID": str(sandbox.app_id), "MODELGATE_PRIVATE_KEY": sandbox.private_key_pem,
            "MODELGATE_WEBHOOK_SECRET": sandbox.webhook_secret, "MODELGATE_GITHUB_API_URL": sandbox.url,
            "MODELGATE_DATA_DIR": str(data_dir), "MODELGATE_PORT": str(self.port),
            "MODELGATE_SERVE_PORTS": str(serve_port), "MODELGATE_RECONCILE_SECONDS": str(RECONCILE_SECONDS),
        }
        self.server: ServeProcess | None = None

    def start(self) -> None:
        log = self.data_dir.parent / "serve.log"
        process = popen_serve(self.settings, self.data_dir.parent, log, new_session=True)
        self.server = ServeProcess("modelgate serve", self.port, process, log)
        self.server.wait_healthy({"running"})
        self.sandbox.set_webhook_url(f"{self.server.url}/api/github/webhooks")

    def kill(self) -> None:
        """``kill -9`` of the App's whole process group."""
        assert self.server is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.process.pid, signal.SIGKILL)
        self.server.process.wait(timeout=30)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``modelgate ARGS`` on the App's data directory."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=clean | self.settings, text=True,
                              capture_output=True, timeout=120, check=False)

    def deployments(self) -> list[dict[str, Any]]:
        answer = self.cli("deployments", "list", "--json")
        assert answer.returncode == 0, answer.stderr
        return list(json.loads(answer.stdout))


@pytest.fixture
def app(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[App]:
    app = App(sandbox, tmp_path / "data", free_port())
    try:
        yield app
    finally:
        if app.server is not None:
            app.kill()


def answers(port: int) -> bool:
    """Whether the model on ``port`` answers a prediction."""
    try:
        response = httpx.post(f"http://127.0.0.1:{port}/invocations", json={"dataframe_split": WINE_SAMPLE},
                              timeout=10)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and "predictions" in response.json()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``condition()`` holds (polled every 0.2 s); fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout:g} s: {what}"
        time.sleep(0.2)
    return time.monotonic() - started


def merged_and_promoted(sandbox: SandboxHandle, branch: str, files: dict[str, str]) -> int:
    """Merge a PR with ``files``; its number once the merge's production status is final."""
    github = sandbox.client
    github.commit(OWNER, NAME, files, branch=branch, author="ada")
    pull = github.open_pull(OWNER, NAME, branch, author="ada", title=branch)
    sha = str(github.merge(OWNER, NAME, int(pull["number"]), author="maintainer")["sha"])

    def final() -> bool:
        return any(s["sha"] == sha and s["context"] == "modelgate/production" and s["state"] != "pending"
                   for s in github.state(only="statuses")["statuses"])

    wait_until(final, 300, f"the production run of {sha[:7]}")
    return int(pull["number"])


def test_a_served_model_answers_again_after_kill_9_and_follows_stop_start_and_rollback(
    app: App, sandbox: SandboxHandle
) -> None:
    serve_port = app.serve_port
    app.start()
    github = sandbox.client
    github.create_repo(OWNER, NAME, path=EXAMPLE, files={".modelgate.yml": config(serve_port)})
    github.set_protection(OWNER, NAME, [])
    first_pr = merged_and_promoted(sandbox, "first", {"NOTES.md": "first\n"})
    assert answers(serve_port)
    [record] = app.deployments()
    assert (record["model_name"], record["version"], record["target"], record["health"]) == (
        MODEL, 1, "mlflow-serve", "up")
    assert record["url"] == f"http://127.0.0.1:{serve_port}/invocations" and record["restarts"] == 0

    app.kill()
    assert not answers(serve_port)  # the switch died with the App, its scoring server with it
    app.start()
    took = wait_until(lambda: answers(serve_port), 120, "the version answering again after the restart")
    assert took <= RECONCILE_SECONDS + 60  # the first pass runs at start; a scoring server takes seconds
    wait_until(lambda: app.deployments()[0]["restarts"] == 1, 3 * RECONCILE_SECONDS, "the restart recorded")
    [record] = app.deployments()
    assert (record["version"], record["health"], record["url"]) == (1, "up", f"http://127.0.0.1:{serve_port}"
                                                                    "/invocations")

    stopped = app.cli("deployments", "stop", MODEL)
    assert stopped.returncode == 0 and "recorded stopped" in stopped.stdout
    wait_until(lambda: not answers(serve_port), 3 * RECONCILE_SECONDS + 10, "the stopped model going quiet")
    wait_until(lambda: app.deployments()[0]["state"] == "stopped", 10, "stopped in the list")
    assert "stopped" in app.cli("deployments", "status", MODEL).stdout
    assert app.cli("deployments", "start", MODEL).returncode == 0
    wait_until(lambda: answers(serve_port), 3 * RECONCILE_SECONDS + 60, "the started model answering")

    merged_and_promoted(sandbox, "second", {"model.py": BETTER_MODEL})
    wait_until(lambda: app.deployments()[0]["version"] == 2, 30, "version 2 recorded")
    github.comment(OWNER, NAME, first_pr, "/rollback", author=OWNER)
    wait_until(lambda: app.deployments()[0]["version"] == 1, 120, "the rollback recorded")
    assert answers(serve_port)
    [record] = app.deployments()
    assert record["health"] == "up" and record["state"] == "serving"
