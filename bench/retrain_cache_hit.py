"""``/retrain`` on an unchanged tree: how long from the comment's webhook to the final status, when the
result is reused from the cache (nothing trains).

``modelgate serve`` runs as users run it (its own process, default settings: 2 workers, SQLite, the
sandbox on), against the GitHub stand-in (in this process). One PR of the example repository is opened
and its first run trains; then, ``--rounds`` times, a writer comments ``/retrain`` and the time from the
comment's webhook being answered to the next final ``modelgate/staging`` status on the head is taken
(polled from the stand-in every 5 ms). Each rerun finds the first run's result by its cache key.

Run: ``.venv/bin/python bench/retrain_cache_hit.py`` (prints the table, rewrites its README section).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from github_standin.client import SandboxClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from staging_wall import publish
from time_to_pending import EXAMPLE, NAME, OWNER, _wait, modelgate_serving

HEADING = "## `/retrain` on an unchanged tree (cache hit)"
FINAL = ("success", "failure", "error")


def _finals(github: SandboxClient, sha: str) -> int:
    """How many final ``modelgate/staging`` statuses the head has."""
    return sum(1 for s in github.state(only="statuses")["statuses"]
               if s["sha"] == sha and s["context"] == "modelgate/staging" and s["state"] in FINAL)


def one_retrain(github: SandboxClient, sha: str, pr: int) -> float:
    """Comment ``/retrain``; milliseconds from the webhook's answer to the next final status."""
    before = _finals(github, sha)
    github.comment(OWNER, NAME, pr, "/retrain", author="ada")
    answered = time.monotonic()
    deadline = answered + 120
    while _finals(github, sha) <= before:
        if time.monotonic() > deadline:
            raise SystemExit("retrain_cache_hit: no final status within 120 s")
        time.sleep(0.005)
    return (time.monotonic() - answered) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-readme", action="store_true", help="print only; leave bench/README.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    with modelgate_serving("mg-retrain-") as github:
        github.create_repo(OWNER, NAME, path=EXAMPLE)
        github.set_permission(OWNER, NAME, "ada", "write")
        sha = github.commit(OWNER, NAME, {"NOTES.md": "cache me\n"}, branch="cache", author="ada")["sha"]
        pr = int(github.open_pull(OWNER, NAME, "cache", author="ada", title="cache")["number"])
        _wait(lambda: _finals(github, sha) >= 1, 300, "the first (training) run")
        times = [one_retrain(github, sha, pr) for _ in range(args.rounds)]
    body = "\n".join(["| rerun | webhook → final status (ms) |", "|---|---|",
                      *(f"| {n + 1} | {ms:.0f} |" for n, ms in enumerate(times)),
                      f"| median | {statistics.median(times):.0f} |"])
    publish(body, section, args, started, HEADING)


def section(body: str, args: argparse.Namespace, cpus: int, minutes: float) -> str:
    """The README section: what was measured, the command, the machine, the table."""
    return (f"{HEADING}\n\nCommand: `.venv/bin/python bench/retrain_cache_hit.py --rounds {args.rounds}` "
            f"({cpus} CPUs, {minutes:.1f} min). `modelgate serve` with default settings (2 workers, SQLite, "
            f"bubblewrap); one PR of the example repository trained once, then `/retrain` by a writer "
            f"{args.rounds} times on the unchanged head. Time from each comment's webhook being answered to "
            f"the next final `modelgate/staging` status, polled every 5 ms from the stand-in. Every rerun "
            f"reuses the first run's result (same code, data, config, champion and environment); the goal "
            f"is < 1 s.\n\n{body}\n")


if __name__ == "__main__":
    main()
