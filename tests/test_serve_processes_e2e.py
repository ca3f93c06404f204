"""``modelgate serve`` on several cores: a supervisor, intake processes sharing the port, and a background
process for the run workers (``bot.processes``). Real processes, real HTTP, the data
directory's real SQLite, the GitHub stand-in as GitHub.

Which intake process holds a connection is read from ``/proc`` (the server side of the connection's socket
belongs to one process), so the tests send through each process on purpose."""

from __future__ import annotations

import http.client
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.settings import Settings
from bot.store import create_db_engine
from bot.webhooks.signature import sign
from pipelines.serving import free_port
from tests.fixtures.corpus import Delivery, derive
from tests.fixtures.serve_process import ServeProcess, popen_serve
from tests.fixtures.standin import SandboxHandle

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

PATH = "/api/github/webhooks"


def start_serve(sandbox: SandboxHandle, data_dir: Path, log: Path, **settings: str) -> ServeProcess:
    """``modelgate serve`` with two intake processes (whatever the machine's cores) and ``settings``."""
    port = free_port()
    env = {
        "MODELGATE_APP_ID": str(sandbox.app_id), "MODELGATE_PRIVATE_KEY": sandbox.private_key_pem,
        "MODELGATE_WEBHOOK_SECRET": sandbox.webhook_secret, "MODELGATE_GITHUB_API_URL": sandbox.url,
        "MODELGATE_DATA_DIR": str(data_dir), "MODELGATE_PORT": str(port), "MODELGATE_PROCESSES": "2",
        "MODELGATE_HTTP_KEEP_ALIVE_SECONDS": "300",  # the test's connections wait while processes restart
    } | {f"MODELGATE_{name.upper()}": value for name, value in settings.items()}
    server = ServeProcess("modelgate serve", port, popen_serve(env, data_dir.parent, log), log)
    try:
        server.wait_healthy(None if settings.get("workers") == "0" else {"running"}, timeout=120)
    except BaseException:
        server.stop()
        raise
    return server


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets ``pid`` has open (none once it has ended)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with_target = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
            if with_target:
                inodes.add(int(with_target.group(1)))
    except OSError:  # it ended meanwhile
        return set()
    return inodes


def server_side_inode(server_port: int, client_port: int) -> int:
    """The inode of the server's socket of the TCP connection from ``client_port`` (``/proc/net/tcp``)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return int(fields[9])
    raise AssertionError(f"no server socket for the connection from port {client_port}")


def connections_per_process(server: ServeProcess, intake: set[int]) -> dict[int, http.client.HTTPConnection]:
    """One keep-alive connection held by each intake process (more connections are opened until each has
    one: the kernel hands them to whichever process accepts first, and a process just started may still be
    preparing)."""
    held: dict[int, http.client.HTTPConnection] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/healthz")
        assert conn.getresponse().read()
        inode = server_side_inode(server.port, conn.sock.getsockname()[1])
        owner = next(pid for pid in intake if inode in socket_inodes(pid))
        if owner in held:
            conn.close()
            time.sleep(0.01)
        else:
            held[owner] = conn
        if len(held) == len(intake):
            return held
    raise AssertionError(f"connections reached only {sorted(held)} of {sorted(intake)}")


def post(conn: http.client.HTTPConnection, delivery: Delivery) -> tuple[int, str]:
    """Send ``delivery`` on ``conn``; its status and outcome."""
    headers = delivery.headers | {"Content-Type": "application/json"}
    conn.request("POST", PATH, body=delivery.body, headers=headers)
    answer = conn.getresponse()
    body = answer.read()
    return answer.status, re.search(rb'"outcome": "(\w+)"', body).group(1).decode()  # type: ignore[union-attr]


def opened(number: int, secret: str) -> Delivery:
    """A real ``pull_request.opened`` delivery for PR ``number`` (its own head SHA)."""
    return derive("pull_request.opened.1", {"number": number, "pull_request": {
        "number": number, "head": {"sha": f"{number:040x}"}}}, secret=secret)


def again(delivery: Delivery, secret: str) -> Delivery:
    """The same event under a new GUID (GitHub sends a PR's events again when asked to)."""
    headers = delivery.headers | {"X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256":
                                  sign(secret, delivery.body)}
    return Delivery(delivery.name, delivery.event, delivery.body, headers)


def metric(conn: http.client.HTTPConnection, name: str, labels: str) -> float:
    """The value of one series in ``/metrics`` as the process holding ``conn`` answers it."""
    conn.request("GET", "/metrics")
    exposition = conn.getresponse().read().decode()
    found = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", exposition, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def runs(data_dir: Path) -> list[tuple[str, str, str | None]]:
    """Every run's (delivery GUID, state, worker id), oldest first."""
    engine = create_db_engine(Settings(data_dir=data_dir).db_url)
    try:
        with engine.connect() as conn:
            return [(row[0], row[1], row[2]) for row in conn.execute(
                text("SELECT delivery_guid, state, worker_id FROM runs ORDER BY id"))]
    finally:
        engine.dispose()


def worker_of(data_dir: Path, index: int) -> int:
    """The process id of the worker that claimed the ``index``-th run (``worker_id`` is host:pid:nonce)."""
    return int(str(runs(data_dir)[index][2]).split(":")[1])


def stopped_cleanly(server: ServeProcess, processes: set[int]) -> None:
    """SIGTERM to the supervisor: it and every process it started are gone, with exit code 0."""
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=90) == 0, server.log.read_text()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in processes if Path(f"/proc/{pid}").exists()]


def wait_until(predicate: object, what: str, timeout: float = 60.0) -> None:
    """Poll ``predicate`` (a callable) until it is true."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty data directory."""
    path = tmp_path / "data"
    path.mkdir()
    yield path


def test_intake_processes_share_one_store(sandbox: SandboxHandle, data_dir: Path) -> None:
    """Both intake processes take deliveries; a GUID is stored once whichever process got it; deliveries
    of one commit join one run; ``/metrics`` of either process shows the sums; SIGTERM stops everything."""
    secret = sandbox.webhook_secret
    server = start_serve(sandbox, data_dir, data_dir.parent / "serve.log", workers="0")
    try:
        everyone = children(server.process.pid)
        intake = {pid for pid in everyone if server_side_listens(pid, server.port)}
        assert len(intake) == 2, (everyone, server.log.read_text())
        first, second = connections_per_process(server, intake).values()

        pr1 = opened(1, secret)
        assert post(first, pr1) == (202, "accepted")
        assert post(second, pr1) == (200, "duplicate")  # stored by the other process
        assert post(second, again(pr1, secret)) == (202, "accepted")  # joins PR 1's queued run
        assert post(first, opened(2, secret)) == (202, "accepted")
        assert post(second, opened(3, secret)) == (202, "accepted")

        queued = runs(data_dir)
        assert len(queued) == 3 and queued[0][0] == pr1.guid  # PR 1's second delivery joined its run
        assert {state for _, state, _ in queued} == {"queued"}  # no run workers
        accepted = 'event="pull_request",outcome="accepted"'
        duplicate = 'event="pull_request",outcome="duplicate"'
        for conn in (first, second):  # each process answers the sums of both
            assert metric(conn, "modelgate_webhook_deliveries_total", accepted) == 4
            assert metric(conn, "modelgate_webhook_deliveries_total", duplicate) == 1
        first.close()
        second.close()
    except BaseException:
        server.stop()
        raise
    stopped_cleanly(server, everyone)


def listening(server: ServeProcess) -> set[int]:
    """The server's processes that hold its listening socket (the intake processes)."""
    return {pid for pid in children(server.process.pid) if server_side_listens(pid, server.port)}


def server_side_listens(pid: int, port: int) -> bool:
    """``pid`` has the listening socket on ``port`` open (an intake process; the background one has not)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:  # LISTEN
            return int(fields[9]) in socket_inodes(pid)
    return False


def test_workers_take_runs_and_killed_processes_are_started_again(sandbox: SandboxHandle, data_dir: Path
                                                                   ) -> None:
    """The background process's workers claim what intake queued; an intake process or the background
    process killed with SIGKILL is reported and started again, and serving goes on."""
    secret, log = sandbox.webhook_secret, data_dir.parent / "serve.log"
    server = start_serve(sandbox, data_dir, log)
    try:
        everyone = children(server.process.pid)
        intake = {pid for pid in everyone if server_side_listens(pid, server.port)}
        assert len(intake) == 2, (everyone, log.read_text())
        conn = next(iter(connections_per_process(server, intake).values()))
        assert post(conn, opened(10, secret)) == (202, "accepted")
        wait_until(lambda: runs(data_dir)[0][2] is not None, "a worker claims the run")
        worker_pid = worker_of(data_dir, 0)
        assert worker_pid in everyone - intake  # the background process, not intake nor the supervisor
        conn.close()

        victim = min(intake)
        os.kill(victim, signal.SIGKILL)
        survivors = intake - {victim}
        wait_until(lambda: len(listening(server) - {victim}) == 2 and survivors < listening(server),
                   "a new intake process beside the other")
        assert re.search(rf"intake process \d \(pid {victim}\) ended with exit code -9", log.read_text())
        intake = listening(server) - {victim}
        first, second = connections_per_process(server, intake).values()
        assert post(second, opened(11, secret)) == (202, "accepted")
        assert metric(first, "modelgate_process_restarts_total", 'role="intake"') == 1

        os.kill(worker_pid, signal.SIGKILL)
        wait_until(lambda: re.search(rf"background process \(pid {worker_pid}\) ended", log.read_text()),
                   "the supervisor notices the background process's end")
        server.wait_healthy({"running"}, timeout=120)  # "starting" meanwhile: /healthz tells
        pr12 = opened(12, secret)
        assert post(first, pr12) == (202, "accepted")
        wait_until(lambda: [w for g, _, w in runs(data_dir) if g == pr12.guid and w is not None],
                   "the new background process claims the run")
        claimed_by = next(i for i, (g, _, _) in enumerate(runs(data_dir)) if g == pr12.guid)
        assert worker_of(data_dir, claimed_by) in children(server.process.pid) - intake
        first.close()
        second.close()
        everyone = children(server.process.pid)
    except BaseException:
        server.stop()
        raise
    stopped_cleanly(server, everyone)
