"""``/retrain`` on an unchanged tree: how long from the comment's webhook to the final status, when the
result is reused from the cache (nothing trains).

``modelgate serve`` runs as users run it (its own process, default settings: 2 workers, SQLite, the
sandbox on), against the GitHub stand-in (in this process). One PR of the example repository is opened
and its first run trains; then, ``--rounds`` times, a writer comments ``/retrain`` and the time from the
comment's webhook being answered to the next final ``modelgate/staging`` status on the head is taken
(polled from the stand-in every 5 ms). Each rerun finds the first run's result by its cache key. Between
reruns the bench waits ``--pause`` seconds and then until the App's processes use no CPU (a person's next
comment does not come within milliseconds of the last status; the App starts its warm processes
meanwhile); ``--pause 0`` comments at once. Then where the time went, from the logs
(``bench/cache_hit_parts.py``).

Run: ``.venv/bin/python bench/retrain_cache_hit.py`` (prints the table, rewrites its README section).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from github_standin.client import SandboxClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cache_hit_parts import Rerun, parts_table, rerun_marks
from readme_section import publish
from settle import settle
from time_to_pending import EXAMPLE, NAME, OWNER, _wait, modelgate_serving

HEADING = "## `/retrain` on an unchanged tree (cache hit)"
FINAL = ("success", "failure", "error")


def _finals(github: SandboxClient, sha: str) -> int:
    """How many final ``modelgate/staging`` statuses the head has."""
    return sum(1 for s in github.state(only="statuses")["statuses"]
               if s["sha"] == sha and s["context"] == "modelgate/staging" and s["state"] in FINAL)


def one_retrain(github: SandboxClient, sha: str, pr: int) -> tuple[float, float]:
    """Comment ``/retrain``; milliseconds from the webhook's answer to the next final status, and when the
    answer came (epoch seconds, to find the rerun in the logs)."""
    before = _finals(github, sha)
    github.comment(OWNER, NAME, pr, "/retrain", author="ada")
    answered, wall = time.monotonic(), time.time()
    deadline = answered + 120
    while _finals(github, sha) <= before:
        if time.monotonic() > deadline:
            raise SystemExit("retrain_cache_hit: no final status within 120 s")
        time.sleep(0.005)
    return (time.monotonic() - answered) * 1000, wall


def _job_dir(work: Path, after: float) -> Path:
    """The pipeline process folder of the staging run started after ``after`` (epoch seconds)."""
    found = [path.parent for path in (work / "data" / "jobs").glob("run-*/job.json")
             if path.stat().st_mtime >= after]
    if len(found) != 1:
        raise SystemExit(f"retrain_cache_hit: expected one new job folder, found {len(found)}")
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pause", type=float, default=5.0,
                        help="seconds between a final status and the next comment")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of modelgate serve (e.g. MODELGATE_WARM_PROCESSES=false)")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave bench/README.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="mg-retrain-"))
    settings = dict(setting.split("=", 1) for setting in args.setting)
    times, reruns = [], []
    with modelgate_serving("mg-retrain-", work, settings) as github:
        github.create_repo(OWNER, NAME, path=EXAMPLE)
        github.set_permission(OWNER, NAME, "ada", "write")
        sha = github.commit(OWNER, NAME, {"NOTES.md": "cache me\n"}, branch="cache", author="ada")["sha"]
        pr = int(github.open_pull(OWNER, NAME, "cache", author="ada", title="cache")["number"])
        _wait(lambda: _finals(github, sha) >= 1, 300, "the first (training) run")
        for _ in range(args.rounds):
            time.sleep(args.pause)
            if args.pause:
                settle()  # and until the App's warm processes are idle (ready), however busy the machine
            ms, answered = one_retrain(github, sha, pr)
            times.append(ms)
            reruns.append((answered, _job_dir(work, answered - 0.01)))
    marks: list[Rerun] = [rerun_marks(work, answered, job_dir) for answered, job_dir in reruns]
    body = "\n".join(["| rerun | webhook → final status (ms) |", "|---|---|",
                      *(f"| {n + 1} | {ms:.0f} |" for n, ms in enumerate(times)),
                      f"| median | {statistics.median(times):.0f} |", "",
                      "Where the time goes (medians over the reruns, from the logs' millisecond stamps):", "",
                      parts_table(marks)])
    print(f"logs in {work}")
    publish(body, section, args, started, HEADING)


def section(body: str, args: argparse.Namespace, cpus: int, minutes: float) -> str:
    """The README section: what was measured, the command, the machine, the table."""
    settings = "".join(f" --setting {setting}" for setting in args.setting)
    idle = " and once the App was idle (its warm processes ready)" if args.pause else ""
    command = f"bench/retrain_cache_hit.py --rounds {args.rounds} --pause {args.pause:g}{settings}"
    text = (f"Command: `.venv/bin/python {command}` ({cpus} CPUs, {minutes:.1f} min). `modelgate serve` "
            f"with default settings{' but' + settings if settings else ''} (2 workers, SQLite, bubblewrap); "
            f"one PR of the example repository trained once, then `/retrain` by a writer {args.rounds} "
            f"times on the unchanged head, each {args.pause:g} s after the last final status{idle}. "
            f"Time from "
            f"each comment's webhook being answered to the next final `modelgate/staging` status, polled "
            f"every 5 ms from the stand-in. Every rerun reuses the first run's result (same code, data, "
            f"config, champion and environment); the goal is < 1 s.")
    return f"{HEADING}\n\n{text}\n\n{body}\n"


if __name__ == "__main__":
    main()
