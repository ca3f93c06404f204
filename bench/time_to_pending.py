"""Time to pending: how soon a PR shows modelgate's pending status while every worker is busy.

``modelgate serve`` runs as users run it (its own process, default settings: 2 workers, SQLite), against
the GitHub stand-in (in this process). Two PRs whose training sleeps occupy both workers; then ``--prs``
PRs are opened at once (one thread each). For each, the time from its ``pull_request.opened`` webhook
being answered (``open_pull`` returning) to the first ``modelgate/staging`` status on its head commit,
polled from the stand-in every 5 ms. Reported: p50 and max over the PRs, per round.

Run: ``.venv/bin/python bench/time_to_pending.py`` (prints the table, rewrites its README section).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from github_standin.app import create_sandbox_app
from github_standin.client import SandboxClient
from github_standin.config import SandboxConfig
from github_standin.serving import serve
from pipelines.serving import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_section import publish

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "pipelines" / "examples" / "wine-classifier"
HEADING = "## Time to pending with busy workers"
OWNER, NAME, APP_ID = "acme", "wine-classifier", 1
SLOW_MODEL = '''import time

from sklearn.linear_model import LogisticRegression


def train(X_train, y_train):
    time.sleep(600)
    return LogisticRegression(max_iter=1000).fit(X_train, y_train)
'''


def _key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def _statuses(github: SandboxClient) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for status in github.state(only="statuses")["statuses"]:
        if status["context"] == "modelgate/staging":
            found.setdefault(str(status["sha"]), []).append(status)
    return found


def _wait(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"time_to_pending: {what} did not happen in {seconds:g} s")
        time.sleep(0.05)


def one_round(github: SandboxClient, prs: int, round_no: int) -> list[float]:
    """Open ``prs`` PRs at once; each one's milliseconds from its webhook's answer to its first status."""
    heads = [github.commit(OWNER, NAME, {"NOTES.md": f"round {round_no} pr {n}\n"}, branch=f"r{round_no}-{n}",
                           author="ada")["sha"] for n in range(prs)]
    answered: dict[str, float] = {}

    def open_one(n: int) -> None:
        github_n = SandboxClient(github.base_url)
        github_n.open_pull(OWNER, NAME, f"r{round_no}-{n}", author="ada", title=f"pr {n}")
        answered[heads[n]] = time.monotonic()

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(prs)]
    for thread in threads:
        thread.start()
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len(seen) < prs and time.monotonic() < deadline:
        now = time.monotonic()
        statuses = _statuses(github)
        for sha in heads:
            if sha not in seen and statuses.get(sha):
                seen[sha] = now
        time.sleep(0.005)
    for thread in threads:
        thread.join()
    if len(seen) < prs:
        raise SystemExit(f"time_to_pending: {prs - len(seen)} PRs showed no status within 60 s")
    return [max(0.0, (seen[sha] - answered[sha]) * 1000) for sha in heads]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true", help="print only; leave bench/README.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    with modelgate_serving("mg-ttp-") as github:
        github.create_repo(OWNER, NAME, path=EXAMPLE)
        busy = []
        for n in range(2):  # both workers train a model that sleeps
            busy.append(github.commit(OWNER, NAME, {"model.py": SLOW_MODEL, "NOTES.md": f"busy {n}\n"},
                                      branch=f"busy-{n}", author="ada")["sha"])
            github.open_pull(OWNER, NAME, f"busy-{n}", author="ada", title=f"busy {n}")
        _wait(lambda: all(any("training" in str(s["description"]) for s in _statuses(github).get(sha, []))
                          for sha in busy), 120, "both workers training")
        rounds = [one_round(github, args.prs, r) for r in range(args.rounds)]
    rows = [(r + 1, statistics.median(ms), max(ms)) for r, ms in enumerate(rounds)]
    body = "\n".join(["| round | p50 (ms) | max (ms) |", "|---|---|---|",
                      *(f"| {r} | {p50:.0f} | {top:.0f} |" for r, p50, top in rows)])
    publish(body, section, args, started, HEADING)


@contextlib.contextmanager
def modelgate_serving(prefix: str, work: Path | None = None,
                      settings: dict[str, str] | None = None) -> Iterator[SandboxClient]:
    """The GitHub stand-in (in this process) and ``modelgate serve`` as users run it (its own process,
    default settings unless ``settings`` names some, data and ``serve.log`` in ``work`` or a new temp folder
    named ``prefix``…) receiving its webhooks; the stand-in's client. On the way out the App and every
    pipeline and job it started are killed."""
    work = Path(tempfile.mkdtemp(prefix=prefix)) if work is None else work
    key, secret, app_port = _key(), secrets.token_hex(16), free_port()
    (work / "key.pem").write_text(key)
    config = SandboxConfig.from_private_key(key, app_id=APP_ID, webhook_secret=secret,
                                            webhook_url=f"http://127.0.0.1:{app_port}/api/github/webhooks")
    with serve(create_sandbox_app(config)) as sandbox_url, SandboxClient(sandbox_url) as github:
        env = {**os.environ, "MODELGATE_APP_ID": str(APP_ID), "MODELGATE_WEBHOOK_SECRET": secret,
               "MODELGATE_PRIVATE_KEY_PATH": str(work / "key.pem"), "MODELGATE_GITHUB_API_URL": sandbox_url,
               "MODELGATE_DATA_DIR": str(work / "data"), "MODELGATE_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
               **(settings or {})}
        app = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(app_port)], env=env,
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(work / "serve.log").open("wb"),
                               start_new_session=True)
        try:
            _wait(lambda: _healthy(app_port), 60, "modelgate serve answering /healthz")
            yield github
        finally:  # the App, then the jobs it started (each in a process group of its own)
            os.killpg(app.pid, signal.SIGKILL)
            app.wait(timeout=60)
            _kill_processes_naming(work)


def _kill_processes_naming(folder: Path) -> None:
    """SIGKILL every process whose command line names ``folder`` (the pipelines and jobs of this run)."""
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
            if str(folder).encode() in command:
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue


def _healthy(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def section(body: str, args: argparse.Namespace, cpus: int, minutes: float) -> str:
    """The README section: what was measured, the command, the machine, the table."""
    return (f"{HEADING}\n\nCommand: `.venv/bin/python bench/time_to_pending.py --prs {args.prs} --rounds "
            f"{args.rounds}` ({cpus} CPUs, {minutes:.1f} min). `modelgate serve` with default settings "
            f"(2 workers, SQLite); both workers busy training; {args.prs} PRs opened at once per round. Time "
            f"from each PR's `pull_request.opened` webhook being answered to the first `modelgate/staging` "
            f"status on its head (\"queued (N ahead)\", written by the acknowledger), polled every 5 ms from "
            f"the stand-in (a status that lands before `open_pull` returns counts as 0). Before the "
            f"acknowledger the 3rd PR on showed nothing until a worker was free (7.5 s with the example).\n\n"
            f"{body}\n")


if __name__ == "__main__":
    main()
