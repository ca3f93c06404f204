"""Live progress: step events as the pipeline and its job write them, read back as untrusted data, and
folded into the rows the check run shows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipelines.checkout import StepError
from pipelines.progress import (
    JOB_STEPS,
    MAX_PROGRESS_BYTES,
    ProgressFile,
    ProgressRelay,
    ShownStep,
    StepEvent,
    parse_events,
    read_events,
    shown_steps,
)
from pipelines.stepping import Steps

E = StepEvent


def _states(rows: list[ShownStep]) -> dict[str, tuple[str, float | None]]:
    return {row.name: (row.state, row.seconds) for row in rows}


@pytest.mark.parametrize(("events", "finished", "expected"), [
    pytest.param([], False, {"fetch": ("waiting", None), "report": ("waiting", None)}, id="nothing-yet"),
    pytest.param([E("fetch", "done", 0.2), E("environment", "running")], False,
                 {"fetch": ("done", 0.2), "environment": ("running", None), "train": ("waiting", None)},
                 id="environment-building"),
    pytest.param([E("train", "running"), E("train", "done", 3.5)], False, {"train": ("done", 3.5)},
                 id="the-latest-event-wins"),
    pytest.param([E("champion environment", "done", 4.0), E("champion", "running")], False,
                 {"evaluate champion": ("running", 4.0)}, id="champion-steps-fold-running"),
    pytest.param([E("champion environment", "done", 4.0), E("champion", "done", 0.5)], False,
                 {"evaluate champion": ("done", 4.5)}, id="champion-steps-fold-summed"),
    pytest.param([E("evaluate", "failed", 1.25)], False, {"evaluate candidate": ("failed", 1.25)},
                 id="a-failed-step"),
    pytest.param([E("data", "done", 1.0)], True,
                 {"data": ("done", 1.0), "train": ("skipped", None), "report": ("skipped", None)},
                 id="finished-without-training-cache-hit"),
    pytest.param([E("train", "running")], True, {"train": ("failed", None)}, id="stopped-inside-a-step"),
    pytest.param([E("job", "done", 9.0), E("cache", "done", 0.1)], False, {"train": ("waiting", None)},
                 id="steps-not-shown-are-ignored"),
])
def test_shown_steps(
    events: list[StepEvent], finished: bool, expected: dict[str, tuple[str, float | None]]
) -> None:
    rows = shown_steps(events, finished)
    assert [row.name for row in rows] == ["fetch", "environment", "data", "train", "evaluate candidate",
                                          "evaluate champion", "predict latency", "report"]
    assert {name: state for name, state in _states(rows).items() if name in expected} == expected


@pytest.mark.parametrize(("line", "kept"), [
    ('{"step": "train", "state": "done", "seconds": 1.5}', True),
    ('{"step": "train", "state": "running", "seconds": null}', True),
    ('{"step": "train", "state": "done", "seconds": 3}', True),
    ('{"step": "model", "state": "done", "seconds": 1}', False),  # not a job step
    ('{"step": "train", "state": "exploded"}', False),
    ('{"step": "train", "state": "done", "seconds": -1}', False),
    ('{"step": "train", "state": "done", "seconds": NaN}', False),
    ('{"step": "train", "state": "done", "seconds": 1e300}', False),
    ('{"step": "train", "state": "done", "seconds": true}', False),
    ('{"step": "train", "state": "done", "seconds": "1"}', False),
    ('{"step": 7, "state": "done"}', False),
    ('["train", "done"]', False),
    ("not json at all", False),
])
def test_a_jobs_events_are_parsed_as_untrusted_data(line: str, kept: bool) -> None:
    assert len(parse_events(line + "\n", JOB_STEPS)) == int(kept)


def test_steps_tell_their_listener_when_they_start_and_end(tmp_path: Path) -> None:
    progress = tmp_path / "progress.jsonl"
    steps = Steps(ProgressFile(progress))
    with steps.step("data", "data"):
        assert read_events(progress) == [E("data", "running")]
    with pytest.raises(StepError), steps.step("train", "train"):
        raise ValueError("boom")
    events = read_events(progress)
    assert [(e.step, e.state) for e in events] == [("data", "running"), ("data", "done"),
                                                   ("train", "running"), ("train", "failed")]
    assert events[1].seconds == steps.durations["data"] and events[3].seconds == steps.durations["train"]


def test_reading_follows_no_link_reads_no_fifo_and_stops_at_the_cap(tmp_path: Path) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text(E("train", "done", 1.0).line())
    (tmp_path / "link.jsonl").symlink_to(secret)
    assert read_events(tmp_path / "link.jsonl") == []
    os.mkfifo(tmp_path / "fifo.jsonl")
    assert read_events(tmp_path / "fifo.jsonl") == []  # returns at once: nobody writes it
    big = tmp_path / "big.jsonl"
    line = E("train", "done", 1.0).line()
    big.write_text(line * (MAX_PROGRESS_BYTES // len(line) + 100))
    assert len(read_events(big)) == MAX_PROGRESS_BYTES // len(line)
    partial = tmp_path / "partial.jsonl"
    partial.write_text(line + '{"step": "evaluate", "sta')  # the job is writing its next line
    assert read_events(partial) == [E("train", "done", 1.0)]


def test_the_relay_copies_only_the_jobs_own_steps(tmp_path: Path) -> None:
    job_file, pipeline_file = tmp_path / "job.jsonl", tmp_path / "pipeline.jsonl"
    sink = ProgressFile(pipeline_file)
    sink.append(E("environment", "done", 2.0))
    relay = ProgressRelay(job_file, sink, poll_seconds=0.01).start()
    with job_file.open("a") as out:
        for event in (E("data", "done", 1.0), E("fetch", "done", 0.0), E("tracking", "done", 9.0),
                      E("train", "running")):
            out.write(event.line())
        out.write(json.dumps({"step": "train", "state": "done", "seconds": 2.5}) + "\n")
    relay.stop()
    assert read_events(pipeline_file) == [E("environment", "done", 2.0), E("data", "done", 1.0),
                                          E("train", "running"), E("train", "done", 2.5)]
