"""A delivery answered 2xx survives ``kill -9`` right after the answer.

A real ``modelgate serve``, as users run it (default settings: SQLite in its data directory, run
workers on, the GitHub stand-in as GitHub; on a machine with several cores a supervisor with intake
processes and a background process), gets signed ``pull_request.opened`` deliveries of different PRs
at once over real HTTP. The test sends SIGKILL to the server's whole process group (every process of
it) the moment a 2xx answer arrives:

* round 1 kills right after the last of the concurrent answers: every delivery was answered, so every
  one must be stored, with its staging run;
* ``modelgate serve`` restarts on the same data directory: a redelivery of each GUID is answered as a
  duplicate and queues nothing new;
* round 2 kills the moment the first answer arrives, while the other requests are still in flight:
  whatever was answered 2xx must be stored (the rest may or may not be).

SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit is in the operating system's page cache
before the answer is sent, which a process crash cannot lose (a power loss could; README, Durability).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from bot.settings import Settings
from bot.store import create_db_engine
from pipelines.serving import free_port
from tests.fixtures.corpus import Delivery, derive
from tests.fixtures.raw_http import connect, read_answer, request_head
from tests.fixtures.serve_process import ServeProcess, popen_serve
from tests.fixtures.standin import SandboxHandle

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PATH = "/api/github/webhooks"
CONCURRENT = 8


class Server(ServeProcess):
    """``modelgate serve`` as the leader of its own process group."""

    def kill_group(self) -> None:
        """SIGKILL to the server and everything it started (its run workers' jobs too)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Killed, as the test kills it."""
        self.kill_group()
        self.process.wait(timeout=30)

    def wait_group_gone(self, timeout: float = 30.0) -> None:
        """Until no process of the group is left (the supervisor's intake and background processes too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError("processes of the killed server are still running")


def start_serve(sandbox: SandboxHandle, data_dir: Path, log: Path, workers: str) -> Server:
    """``modelgate serve`` with default settings but what it must be told: the App, its secret, where
    GitHub is, its data directory and port; once healthy with its run workers in state ``workers``."""
    port = free_port()
    settings = {
        "MODELGATE_APP_ID": str(sandbox.app_id), "MODELGATE_PRIVATE_KEY": sandbox.private_key_pem,
        "MODELGATE_WEBHOOK_SECRET": sandbox.webhook_secret, "MODELGATE_GITHUB_API_URL": sandbox.url,
        "MODELGATE_DATA_DIR": str(data_dir), "MODELGATE_PORT": str(port),
    }
    process = popen_serve(settings, data_dir.parent, log, new_session=True)
    server = Server("modelgate serve", port, process, log)
    try:
        server.wait_healthy({workers, "running"})
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class Burst:
    """Deliveries sent at once, each on its own connection; the server is killed when ``kill_after``
    of them were answered 2xx."""

    server: Server
    deliveries: list[Delivery]
    kill_after: int
    statuses: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> dict[str, int]:
        """Send, kill, and return each GUID's status (0: no answer before the kill)."""
        ready = threading.Barrier(len(self.deliveries))
        threads = [threading.Thread(target=self._send, args=(d, ready)) for d in self.deliveries]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.server.kill_group()  # when fewer than kill_after were answered
        self.server.process.wait(timeout=30)
        self.server.wait_group_gone()
        return self.statuses

    def _send(self, delivery: Delivery, ready: threading.Barrier) -> None:
        sock = connect(self.server.url)
        try:
            headers = delivery.headers | {"Content-Type": "application/json",
                                          "Content-Length": str(len(delivery.body))}
            ready.wait(timeout=10)
            sock.sendall(request_head("POST", PATH, headers) + delivery.body)
            answer = read_answer(sock, wait=20, until_closed=False)
        except OSError:  # the server died under us
            answer = None
        finally:
            sock.close()
        status = answer.status if answer is not None else 0
        with self._lock:
            self.statuses[delivery.guid] = status
            if 200 <= status < 300 and sum(200 <= s < 300 for s in self.statuses.values()) == self.kill_after:
                self.server.kill_group()  # the moment this answer arrived


def opened(number: int, secret: str) -> Delivery:
    """A real ``pull_request.opened`` delivery, re-signed, for PR ``number`` (its own head SHA)."""
    sha = f"{number:040x}"
    return derive("pull_request.opened.1", {"number": number, "pull_request": {
        "number": number, "head": {"sha": sha}}}, secret=secret)


def stored(engine: Engine, guids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """For each stored GUID among ``guids``: its runs' (kind, state)."""
    with engine.connect() as conn:
        known = {row.guid for row in conn.execute(text("SELECT guid FROM deliveries"))}
        runs = conn.execute(text("SELECT delivery_guid, kind, state FROM runs")).all()
    return {guid: [(r.kind, r.state) for r in runs if r.delivery_guid == guid]
            for guid in guids if guid in known}


def open_store(data_dir: Path) -> Engine:
    """The data directory's database, opened directly (as the next ``modelgate serve`` would)."""
    return create_db_engine(Settings(data_dir=data_dir).db_url)


def test_answered_deliveries_survive_kill_9(sandbox: SandboxHandle, tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    data_dir.mkdir()
    first = [opened(100 + n, sandbox.webhook_secret) for n in range(CONCURRENT)]

    # round 1: kill right after the last 2xx, as soon as intake is up (the workers may be starting still)
    statuses = Burst(start_serve(sandbox, data_dir, log, "starting"), first, kill_after=CONCURRENT).run()
    assert sorted(statuses.values()) == [202] * CONCURRENT, log.read_text()
    engine = open_store(data_dir)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        found = stored(engine, [d.guid for d in first])
    finally:
        engine.dispose()
    assert set(found) == {d.guid for d in first}, "deliveries answered 202 were lost by kill -9"
    for guid, runs in found.items():  # queued at intake; a worker may have claimed it before the kill
        assert [kind for kind, _ in runs] == ["staging"], (guid, runs)

    # restart on the same data directory, workers running: every redelivery is a duplicate, queues nothing
    server = start_serve(sandbox, data_dir, log, "running")
    try:
        for delivery in first:
            answer = httpx.post(server.url + PATH, content=delivery.body, headers=delivery.headers,
                                timeout=30, trust_env=False)
            assert (answer.status_code, answer.json()["outcome"]) == (200, "duplicate"), answer.text
        # round 2: kill the moment the first 2xx arrives, the other requests still in flight
        second = [opened(200 + n, sandbox.webhook_secret) for n in range(CONCURRENT)]
        statuses = Burst(server, second, kill_after=1).run()
    finally:
        server.stop()
    answered = [guid for guid, status in statuses.items() if 200 <= status < 300]
    assert answered, f"no delivery answered: {statuses}\n{log.read_text()}"
    assert all(status in (0, 202) for status in statuses.values()), statuses

    engine = open_store(data_dir)
    try:
        found = stored(engine, [d.guid for d in first + second])
    finally:
        engine.dispose()
    assert set(answered) <= set(found), "deliveries answered 202 were lost by kill -9"
    for delivery in first:  # the redeliveries added no run
        assert [kind for kind, _ in found[delivery.guid]] == ["staging"]
    for guid in answered:
        assert [kind for kind, _ in found[guid]] == ["staging"], (guid, found[guid])
