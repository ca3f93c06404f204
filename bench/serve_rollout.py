"""Serving a promoted version: how long from a merge to the new version answering, for ``mlflow-serve``
and ``ray-serve``, and what the stable URL costs a prediction against a bare scoring server.

``modelgate serve`` runs as users run it (its own process, default settings, jobs on this host) against
the GitHub stand-in (in this process), with a real local Ray head (``tests.fixtures.ray_head``, Serve on a
free port) as ``MODELGATE_RAY_ADDRESS``. Two repositories of the example, one per deploy kind (their own
model names), are merged into in turn, ``--rounds`` times each, interleaved. For each merge: the time from
the merge's webhook being answered to the GitHub Deployment of the new version turning ``success`` (a
deployer reports success only once the new version answers on the stable URL: mlflow-serve's switch after
its check, ray-serve after ``/version`` answers the new version), and the deploy's own part (from the
Deployment's ``in_progress`` to its ``success``), polled from the stand-in every 50 ms.

Then ``--requests`` one-row predictions, sequential and interleaved, through each stable URL and through
a bare MLflow scoring server of the same version (``uvicorn mlflow.pyfunc.scoring_server.app:app`` on a
TCP port, no sandbox, no proxy): median and p90 latency, and each median's ratio to the bare one.

Run: ``.venv/bin/python bench/serve_rollout.py`` (prints the tables, rewrites its README section).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from github_standin.client import SandboxClient
from pipelines.model_files import copy_model_files
from pipelines.serving import free_port
from pipelines.tracking import Tracker

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from readme_section import publish
from time_to_pending import EXAMPLE, OWNER, _wait, modelgate_serving

from tests.fixtures.ray_head import RayHead

HEADING = "## Serving: merge to answering, and the stable URL's cost (mlflow-serve, ray-serve)"
GATES = "  production:\n    - {metric: accuracy, min: 0.5}\n"  # every merge is promoted
ROW = {"columns": ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                   "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                   "od280/od315_of_diluted_wines", "proline"],
       "data": [[13.2, 1.78, 2.14, 11.2, 100, 2.65, 2.76, 0.26, 1.28, 4.38, 1.05, 3.4, 1050]]}
KINDS = {"mlflow-serve": "deploy: {kind: mlflow-serve}\n",
         "ray-serve": "deploy: {kind: ray-serve, num_cpus: 0.5}\n"}


def config(kind: str) -> str:
    """The example's configuration with its own model name, lenient production gates and ``kind``."""
    text = (EXAMPLE / ".modelgate.yml").read_text().replace("name: wine-classifier", f"name: wine-{kind}")
    return text.partition("  production:\n")[0] + GATES + "timeout_seconds: 300\n" + KINDS[kind]


def deployment(github: SandboxClient, model: str, version: int) -> tuple[int | None, list[str], str]:
    """The GitHub Deployment of ``model`` ``version``: its id, its statuses' states and last URL."""
    state = github.state(only="deployments,deployment_statuses")
    found = [d for d in state["deployments"] if (d.get("payload") or {}).get("model") == model
             and (d.get("payload") or {}).get("version") == version]
    if not found:
        return None, [], ""
    statuses = [s for s in state["deployment_statuses"] if s["deployment_id"] == found[-1]["id"]]
    url = statuses[-1]["environment_url"] if statuses else ""
    return found[-1]["id"], [s["state"] for s in statuses], url


def one_merge(github: SandboxClient, kind: str, round_no: int) -> tuple[float, float, str]:
    """Merge a change into ``kind``'s repository; seconds to the new version answering, the deploy's own
    seconds, and the stable URL."""
    repo, model, version = f"wine-{kind}", f"wine-{kind}", round_no
    github.commit(OWNER, repo, {"NOTES.md": f"round {round_no}\n"}, branch=f"r{round_no}", author="ada")
    pull = github.open_pull(OWNER, repo, f"r{round_no}", author="ada", title=f"round {round_no}")
    github.merge(OWNER, repo, int(pull["number"]), author="maintainer")
    merged = time.monotonic()
    deploying: float | None = None
    while True:
        _, states, url = deployment(github, model, version)
        if deploying is None and "in_progress" in states:
            deploying = time.monotonic()
        if "success" in states:
            done = time.monotonic()
            return done - merged, done - (deploying or done), url
        if "failure" in states or time.monotonic() - merged > 900:
            raise SystemExit(f"serve_rollout: {kind} version {version} did not deploy: {states}")
        time.sleep(0.05)


def bare_server(tracking_uri: str, model_uri: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """MLflow's scoring app for ``model_uri`` on a TCP port of this host, as a baseline; its URL."""
    Tracker(tracking_uri)  # models:/ URIs resolve through the registry it configures
    model_dir = copy_model_files(model_uri, tracking_uri, folder / "model")
    port = free_port()
    env = {**os.environ, "__pyfunc_model_path__": str(model_dir)}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "--port", str(port), "--workers", "1",
                                "--no-access-log", "mlflow.pyfunc.scoring_server.app:app"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/invocations"
    _wait(lambda: _answers(url), 120, "the bare scoring server")
    return process, url


def _answers(url: str) -> bool:
    try:
        return httpx.post(url, json={"dataframe_split": ROW}, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def latencies(urls: dict[str, str], requests: int) -> dict[str, list[float]]:
    """Milliseconds of ``requests`` one-row predictions per URL, interleaved, each on a kept-alive client."""
    clients = {name: httpx.Client(timeout=30) for name in urls}
    found: dict[str, list[float]] = {name: [] for name in urls}
    try:
        for _ in range(requests + 10):  # the first ten warm up
            for name, url in urls.items():
                began = time.perf_counter()
                response = clients[name].post(url, json={"dataframe_split": ROW})
                found[name].append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (name, response.text)
    finally:
        for client in clients.values():
            client.close()
    return {name: values[10:] for name, values in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-readme", action="store_true", help="print only; leave bench/README.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="mg-serve-bench-"))
    (work / "storage").mkdir()
    head = RayHead()
    head.start()
    try:
        tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
        settings = {"MODELGATE_RAY_ADDRESS": head.address, "MODELGATE_RAY_STORAGE": str(work / "storage"),
                    "MODELGATE_RAY_SERVE_URL": head.start_serve(), "MODELGATE_SERVE_PORTS": str(free_port()),
                    "MODELGATE_MLFLOW_TRACKING_URI": tracking_uri}
        with modelgate_serving("mg-serve-", settings=settings) as github:
            for kind in KINDS:
                files = {".modelgate.yml": config(kind)}
                github.create_repo(OWNER, f"wine-{kind}", path=EXAMPLE, files=files)
                github.set_protection(OWNER, f"wine-{kind}", [])
            rollout: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
            urls: dict[str, str] = {}
            for round_no in range(1, args.rounds + 1):
                for kind in KINDS:
                    total, deploy, urls[kind] = one_merge(github, kind, round_no)
                    rollout[kind].append((total, deploy))
                    print(f"{kind} round {round_no}: {total:.1f} s to answering ({deploy:.1f} s deploying)",
                          flush=True)
            bare, urls["bare scoring server"] = bare_server(
                tracking_uri, f"models:/wine-mlflow-serve/{args.rounds}", work / "bare")
            try:
                measured = latencies(urls, args.requests)
            finally:
                bare.kill()
                bare.wait()
    finally:
        head.close()
    publish(tables(rollout, measured), section, args, started, HEADING)


def tables(rollout: dict[str, list[tuple[float, float]]], measured: dict[str, list[float]]) -> str:
    """The two Markdown tables."""
    rows = ["| deploy kind | merge → new version answering, median s (each) | of which deploying, median s |",
            "|---|---:|---:|"]
    for kind, found in rollout.items():
        each = " / ".join(f"{total:.1f}" for total, _ in found)
        rows.append(f"| {kind} | {statistics.median(t for t, _ in found):.1f} ({each}) | "
                    f"{statistics.median(d for _, d in found):.1f} |")
    base = statistics.median(measured["bare scoring server"])
    rows += ["", "| one-row prediction through | median ms | p90 ms | median vs bare |",
             "|---|---:|---:|---:|"]
    for name, values in measured.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        rows.append(f"| {name} | {statistics.median(values):.2f} | {p90:.2f} | "
                    f"{statistics.median(values) / base:.2f}x |")
    return "\n".join(rows)


def section(body: str, args: argparse.Namespace, cpus: int, minutes: float) -> str:
    """The README section: what was measured, the command, the machine, the tables."""
    return (f"{HEADING}\n\nCommand: `.venv/bin/python bench/serve_rollout.py --rounds {args.rounds} "
            f"--requests {args.requests}` ({cpus} CPUs, shared with other sessions' work, "
            f"{minutes:.1f} min). `modelgate serve` with default settings (jobs on this host) and a local "
            "Ray head (2 CPUs, Serve on a free port); two repositories of the example, `deploy: {kind: "
            "mlflow-serve}` and `deploy: {kind: ray-serve, num_cpus: 0.5}`, each merged into "
            f"{args.rounds} times, interleaved (every merge promotes a new version: lenient gates). Merge → "
            "answering: from the merge's webhook being answered to the version's GitHub Deployment turning "
            "`success` (each deployer reports it once the new version answers on the stable URL); "
            "deploying: from its `in_progress` to `success`. Latency: "
            f"{args.requests} sequential one-row predictions per target after 10 warm-up ones, interleaved, "
            "kept-alive connections; the bare scoring server is MLflow's scoring app on a TCP "
            f"port serving the last mlflow-serve version, without sandbox or proxy.\n\n{body}\n")




if __name__ == "__main__":
    main()
