"""Two ``modelgate serve`` replicas work as one App: real subprocesses on one PostgreSQL job store, each
with its own data directory, sharing the MLflow tracking store (another PostgreSQL schema) and the
artifact location (``MODELGATE_MLFLOW_ARTIFACTS``). The stand-in's webhooks reach them alternately
through a round-robin forwarder (a load balancer's part); four PRs are opened at once.

Every report link of every sticky comment loads from the replica the link names and from the other one
(report files live in the database), both replicas ran runs (``worker_id`` carries the process id), and
MLflow's artifacts landed in the shared location only, never in a replica's data directory."""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import pipelines
from bot.store import TERMINAL, RunRecord, RunStore, create_db_engine
from github_standin.serving import serve
from pipelines.serving import free_port
from tests.fixtures.db import make_engine_for
from tests.fixtures.serve_process import ServeProcess, popen_serve
from tests.fixtures.standin import SandboxHandle

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(240)]

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
OWNER, NAME = "acme", "wine-classifier"
PRS = 4
WAIT_SECONDS = 150.0
LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/reports/([0-9a-f]{32})/([a-z0-9][a-z0-9_.-]*\.(?:png|txt))")
CONTENT_TYPES = {"png": "image/png", "txt": "text/plain; charset=utf-8"}
FORWARDED = ("content-type", "user-agent", "x-github-event", "x-github-delivery", "x-hub-signature-256",
             "x-github-hook-id", "x-github-hook-installation-target-id",
             "x-github-hook-installation-target-type")


@dataclass
class Replica(ServeProcess):
    """One ``modelgate serve`` process: its URL, data directory and log."""

    data_dir: Path


class RoundRobin:
    """Forwards each webhook to the next replica in turn (what a load balancer in front of them does)."""

    def __init__(self, targets: list[str]) -> None:
        self._next = itertools.cycle(targets)
        self._lock = threading.Lock()
        self.sent: dict[str, int] = dict.fromkeys(targets, 0)

    async def forward(self, request: Request) -> Response:
        with self._lock:
            target = next(self._next)
            self.sent[target] += 1
        headers = {name: value for name, value in request.headers.items() if name in FORWARDED}
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(f"{target}/api/github/webhooks", content=await request.body(),
                                       headers=headers)
        return Response(answer.content, status_code=answer.status_code)


@pytest.fixture
def mlflow_url(postgres_admin: Engine) -> Iterator[str]:
    """A fresh PostgreSQL schema for the shared MLflow tracking store (MLflow's tables are named like
    ours: ``runs``), dropped afterwards."""
    schema = f"mg_mlflow_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def start_replica(name: str, sandbox: SandboxHandle, root: Path, env: dict[str, str]) -> Replica:
    """``modelgate serve`` (one run worker) in its own data directory, one process each (the replicas are what
    is tested here; a replica's processes are ``tests/test_serve_processes_e2e.py``'s)."""
    port, data_dir, log = free_port(), root / name, root / f"{name}.log"
    settings = {
        "MODELGATE_APP_ID": str(sandbox.app_id), "MODELGATE_PRIVATE_KEY": sandbox.private_key_pem,
        "MODELGATE_WEBHOOK_SECRET": sandbox.webhook_secret, "MODELGATE_GITHUB_API_URL": sandbox.url,
        "MODELGATE_DATA_DIR": str(data_dir), "MODELGATE_PORT": str(port),
        "MODELGATE_PUBLIC_URL": f"http://127.0.0.1:{port}", "MODELGATE_WORKERS": "1",
        "MODELGATE_PIPELINE_CONCURRENCY": "1", "MODELGATE_PROCESSES": "1", **env,
    }
    return Replica(name, port, popen_serve(settings, root, log), log, data_dir)


def finished_runs(runs: RunStore, count: int) -> list[RunRecord]:
    """The staging runs once ``count`` exist and all finished."""
    deadline = time.monotonic() + WAIT_SECONDS
    found: list[RunRecord] = []
    while time.monotonic() < deadline:
        found = [r for r in runs.list_runs(limit=100) if r.kind == "staging"]
        if len(found) >= count and all(r.state in TERMINAL for r in found):
            return sorted(found, key=lambda r: r.id)
        time.sleep(0.25)
    raise AssertionError(f"{count} staging runs did not finish in {WAIT_SECONDS:g} s: {found}")


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_replicas_serve_each_others_reports_and_share_mlflow_artifacts(
    db_url: str, mlflow_url: str, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-mlartifacts"
    env = {"MODELGATE_DATABASE_URL": db_url, "MODELGATE_MLFLOW_TRACKING_URI": mlflow_url,
           "MODELGATE_MLFLOW_ARTIFACTS": str(shared)}
    replicas = [start_replica(name, sandbox, tmp_path, env) for name in ("a", "b")]
    try:
        for replica in replicas:
            replica.wait_healthy()
        by_port = {replica.port: replica for replica in replicas}
        balancer = RoundRobin([replica.url for replica in replicas])
        app = Starlette(routes=[Route("/api/github/webhooks", balancer.forward, methods=["POST"])])
        with serve(app) as forwarder:
            sandbox.set_webhook_url(f"{forwarder}/api/github/webhooks")
            sandbox.client.create_repo(OWNER, NAME, path=EXAMPLE)
            pulls = []
            for number in range(PRS):
                branch = f"change-{number}"
                sandbox.client.commit(OWNER, NAME, {"NOTES.md": f"idea {number}\n"}, branch=branch,
                                      author="ada")
                pull = sandbox.client.open_pull(OWNER, NAME, branch, author="ada", title=branch)
                pulls.append(int(pull["number"]))
            runs = finished_runs(RunStore(make_engine_for(db_url)), PRS)
        logs = "\n".join(f"--- {r.name}\n{r.log.read_text()[-3000:]}" for r in replicas)
        assert all(count > 0 for count in balancer.sent.values()), balancer.sent
        assert [r.state for r in runs] == ["succeeded"] * PRS, logs
        assert sorted(r.pr_number for r in runs) == sorted(pulls)

        # both replicas ran runs: a worker_id is host:pid:suffix
        ran_by = {r.id: int(str(r.worker_id).split(":")[1]) for r in runs}
        assert {replica.process.pid for replica in replicas} == set(ran_by.values()), (ran_by, logs)

        published_by: set[int] = set()
        comments = [c for c in sandbox.client.state()["comments"] if c["via_app"]]
        for pr in pulls:
            [body] = [c["body"] for c in comments if c["issue_number"] == pr]
            links = LINK.findall(body)
            names = {name for _, _, name in links}
            assert "log.txt" in names and any(name.endswith(".png") for name in names), body
            for port, token, name in links:
                publisher = by_port[int(port)]
                published_by.add(publisher.port)
                for replica in (publisher, *(r for r in replicas if r is not publisher)):
                    response = httpx.get(f"{replica.url}/reports/{token}/{name}", timeout=10)
                    assert response.status_code == 200, (replica.name, token, name)
                    assert response.headers["content-type"] == CONTENT_TYPES[name.rsplit(".", 1)[1]]
                    assert response.headers["x-content-type-options"] == "nosniff"
        assert published_by == set(by_port), "every comment links the same replica"

        # MLflow's artifacts are in the shared location only: the experiment points there
        tracking = create_db_engine(mlflow_url)
        try:
            with tracking.connect() as conn:
                location = conn.execute(text("SELECT artifact_location FROM experiments WHERE name = :name"),
                                        {"name": f"modelgate/{NAME}"}).scalar_one()
        finally:
            tracking.dispose()
        assert location == (shared / "modelgate" / NAME).as_uri()
        assert len(list(shared.rglob("model.pkl"))) >= PRS
        for replica in replicas:
            leaked = [p for p in replica.data_dir.rglob("*") if p.name in {"mlartifacts", "mlruns"}]
            assert not leaked, leaked
    finally:
        for replica in replicas:
            replica.stop()
