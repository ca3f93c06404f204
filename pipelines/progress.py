"""A run's live progress: which steps started and ended, and how long they took.

Each process appends one JSON line per step event to a progress file (``Steps`` calls a
``ProgressFile``): the trusted pipeline process writes ``progress.jsonl`` beside its ``job.json``; the
sandboxed job writes one into its output folder, which ``ProgressRelay`` copies into the pipeline's
(only the job's own step names, parsed as untrusted data). The App reads the pipeline's file while the
run goes on and shows ``shown_steps`` in the check run. Stdlib only: the job imports this too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROGRESS_FILE = "progress.jsonl"
MAX_PROGRESS_BYTES = 64 * 1024  # far more than a run's events; a job writing more is cut off
MAX_STEP_SECONDS = 1e7
STATES = frozenset({"running", "done", "failed"})
# what the check run shows, in the order a run goes through them, and the steps each one covers
SHOWN_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fetch", ("fetch",)),  # the commit's source (the App)
    ("environment", ("environment",)),  # the repository's environment, built or reused
    ("data", ("data",)),  # the repository's data functions (in the job)
    ("train", ("train",)),
    ("evaluate candidate", ("evaluate",)),
    ("evaluate champion", ("champion environment", "champion")),
    ("predict latency", ("latency",)),  # both models' single-row predicts, when a gate or metric wants it
    ("report", ("tracking",)),  # gates, plots, report and MLflow
)
JOB_STEPS = frozenset({"data", "train", "evaluate", "champion", "latency"})  # the steps a job reports itself


@dataclass(frozen=True)
class StepEvent:
    """A step started (``running``, no seconds) or ended (``done``/``failed`` after ``seconds``)."""

    step: str
    state: str
    seconds: float | None = None

    def line(self) -> str:
        """The event as one JSON line."""
        return json.dumps({"step": self.step, "state": self.state, "seconds": self.seconds}) + "\n"


@dataclass(frozen=True)
class ShownStep:
    """One row of the check run's step table: ``state`` is waiting, running, done, failed or skipped."""

    name: str
    state: str
    seconds: float | None = None


class ProgressFile:
    """Appends step events to a file; a ``Steps`` listener. Writing never fails a step."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, step: str, state: str, seconds: float | None) -> None:
        self.append(StepEvent(step, state, seconds))

    def append(self, event: StepEvent) -> None:
        """Add one event (errors are ignored: progress is best effort)."""
        with self._lock, contextlib.suppress(OSError), self.path.open("a", encoding="utf-8") as out:
            out.write(event.line())


def parse_events(text: str, allowed: Iterable[str] | None = None) -> list[StepEvent]:
    """The well-formed events of a progress file's text; other lines are skipped. ``allowed``: the only
    step names taken (a job's file is untrusted)."""
    names = None if allowed is None else frozenset(allowed)
    events = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        step, state, seconds = data.get("step"), data.get("state"), data.get("seconds")
        if not isinstance(step, str) or state not in STATES or (names is not None and step not in names):
            continue
        if seconds is not None and not (isinstance(seconds, int | float) and not isinstance(seconds, bool)
                                        and math.isfinite(seconds) and 0 <= seconds <= MAX_STEP_SECONDS):
            continue
        events.append(StepEvent(step[:100], str(state), None if seconds is None else float(seconds)))
    return events


def read_events(path: Path, allowed: Iterable[str] | None = None) -> list[StepEvent]:
    """The events of a progress file (none when it is missing); a link is not followed, and no more than
    ``MAX_PROGRESS_BYTES`` are read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    with os.fdopen(descriptor, "rb") as source:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a FIFO or device the job put there
            return []
        data = source.read(MAX_PROGRESS_BYTES)
    complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
    return parse_events(complete.decode("utf-8", errors="replace"), allowed)


def shown_steps(events: Sequence[StepEvent], finished: bool = False) -> list[ShownStep]:
    """The check run's step rows from the events so far. A shown step covering several steps is running
    while one of them is, failed when one failed, and took their summed time. Steps that never started
    are ``waiting`` (``skipped`` once the run has ``finished``: e.g. no training on a cache hit); a step
    still ``running`` when the run finished is shown ``failed`` (the run stopped in it)."""
    latest: dict[str, StepEvent] = {}
    for event in events:
        latest[event.step] = event
    rows = []
    for name, covered in SHOWN_STEPS:
        seen = [latest[step] for step in covered if step in latest]
        states = {event.state for event in seen}
        seconds = [event.seconds for event in seen if event.seconds is not None]
        total = round(sum(seconds), 3) if seconds else None
        if not seen:
            rows.append(ShownStep(name, "skipped" if finished else "waiting"))
        elif "failed" in states or (finished and "running" in states):
            rows.append(ShownStep(name, "failed", total))
        elif "running" in states:
            rows.append(ShownStep(name, "running", total))
        else:
            rows.append(ShownStep(name, "done", total))
    return rows


class ProgressRelay:
    """Copies a job's step events (its own file, untrusted) into the pipeline's progress file, on a
    thread of its own while the job runs; ``stop()`` copies what came last."""

    def __init__(
        self, source: Path, sink: ProgressFile, poll_seconds: float = 0.25, limit: int = 100
    ) -> None:
        self._source, self._sink, self._poll, self._limit = source, sink, poll_seconds, limit
        self._copied = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress-relay", daemon=True)

    def start(self) -> ProgressRelay:
        """Start copying."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and copy the events written since its last look."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._copy()

    def _loop(self) -> None:
        while not self._stopped.wait(self._poll):
            self._copy()

    def _copy(self) -> None:
        events = read_events(self._source, JOB_STEPS)[: self._limit]
        for event in events[self._copied:]:
            self._sink.append(event)
        self._copied = max(self._copied, len(events))
