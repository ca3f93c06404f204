"""Where a ``/retrain`` cache hit's time goes, read back from the logs of ``modelgate serve`` (the App's
HTTP requests to the stand-in, with their times) and of each staging run's pipeline process (its steps, and
its job's, with their times): one row of marks per rerun, from the comment's webhook being answered to the
final status being written. Used by ``bench/retrain_cache_hit.py``.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")

# (label, how the mark is found) in the order they happen; each part is the time from one mark to the next
PARTS = (
    ("webhook answered → staging run's first GitHub request (intake, `/retrain` command run, queue, claim)",
     "check run created"),
    ("check run + pending status, PR, `.modelgate.yml`, tarball", "tarball fetched"),
    ("submit → pipeline process takes the job (standby hand-over)", "pipeline process started"),
    ("pipeline: config, code fingerprint, environment", "environment chosen"),
    ("job: sandbox, interpreter, imports, or the warm job's hand-over (until its first step)",
     "job's first step"),
    ("job: config + data functions", "data loaded"),
    ("job: data fingerprint → trusted side reads it", "cache lookup started"),
    ("cache: MLflow lookup + report restored", "cache answered"),
    ("job told to stop → pipeline result written", "result written"),
    ("process ends → runner sees the result → report rendered → check run + final status", "final status"),
)


@dataclass(frozen=True)
class Rerun:
    """One rerun's marks (seconds since the epoch) in ``PARTS`` order, starting with the webhook's answer."""

    marks: tuple[float, ...]

    def parts(self) -> list[float]:
        """Seconds of each part."""
        return [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]


def _stamped(path: Path) -> list[tuple[float, str]]:
    lines = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = _STAMP.match(line)
        if found:
            when = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            lines.append((when, line[found.end():]))
    return lines


def _first(lines: list[tuple[float, str]], after: float, *needles: str, nth: int = 1) -> float:
    for when, text in lines:
        if when >= after and all(needle in text for needle in needles):
            nth -= 1
            if nth == 0:
                return when
    raise ValueError(f"no line with {needles} after {after}")


def rerun_marks(work: Path, answered: float, job_dir: Path) -> Rerun:
    """The marks of the rerun whose comment's webhook was answered at ``answered`` (epoch seconds; the log
    has millisecond stamps) and whose pipeline process ran in ``job_dir``."""
    serve = _stamped(work / "serve.log")
    start = answered - 0.001
    check = _first(serve, start, "POST", "/check-runs ")
    tarball = _first(serve, check, "GET", "/_codeload/")
    pipeline = _stamped(job_dir / "pipeline.log")
    began = _first(pipeline, start, "pipelines.entry: job ")
    job = _first(pipeline, began, "pipelines.steps: environment: ")
    job_first = _first(pipeline, began, "step config: start", nth=2)  # the pipeline's, then the job's
    data = _first(pipeline, job_first, "data: ", "training rows")
    cache = _first(pipeline, data, "step cache: start")
    answered_cache = _first(pipeline, cache, "cache hit: reusing")
    result = _first(pipeline, answered_cache, "pipelines.entry: result:")
    final = _first(serve, result, "POST", "/statuses/")
    marks = (answered, check, tarball, began, job, job_first, data, cache, answered_cache, result, final)
    return Rerun(marks)


def parts_table(reruns: list[Rerun]) -> str:
    """A markdown table: each part's median and range over the reruns, in milliseconds."""
    rows = ["| part (ends when) | median ms | min–max ms |", "|---|---:|---:|"]
    columns = list(zip(*(rerun.parts() for rerun in reruns), strict=True))
    for (label, mark), values in zip(PARTS, columns, strict=True):
        ms = [value * 1000 for value in values]
        rows.append(f"| {label} ({mark}) | {statistics.median(ms):.0f} | {min(ms):.0f}–{max(ms):.0f} |")
    totals = [(rerun.marks[-1] - rerun.marks[0]) * 1000 for rerun in reruns]
    rows.append(f"| **webhook answered → final status (from the logs)** | "
                f"**{statistics.median(totals):.0f}** | {min(totals):.0f}–{max(totals):.0f} |")
    return "\n".join(rows)
