"""Where pipeline runs execute: the ``Executor`` protocol and ``LocalExecutor`` (bounded subprocesses).

Each job gets ``<workdir>/<job_id>/`` holding ``job.json``, ``pipeline.log`` and ``result.json``,
and runs ``python -P -m pipelines.entry job.json`` in its own process group with an environment
built from scratch. That process is trusted (our code: MLflow, gates, report); it runs the
repository's code in a sandboxed job of its own (``pipelines.job_process``), as ``policy`` says.
Job failures (timeout, cancel, crash) come back as error results, never raised.

When a job ends, the executor starts the next one's process ahead (``pipelines.standby``: MLflow and the
report's libraries imported, the stores open) and hands it the next job with a matching tracking URI and
environment; a run still gets a process of its own, and the same process group and files. With
``warm_jobs``, the standby also starts a sandboxed job ahead for the next run (``pipelines.warm_job``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import pipelines
from pipelines.entry import JOB_SECRETS_VARIABLE, RESULT_FILE
from pipelines.job_process import JobPolicy, policy_document
from pipelines.progress import PROGRESS_FILE, StepEvent, read_events
from pipelines.result import LOG_TAIL_LINES, PipelineResult
from pipelines.standby import HandOver, Standby, StandbyKey
from pipelines.tracking import TELEMETRY_OFF, absolute_tracking_uri
from pipelines.warm_job import WARM_JOB_VARIABLE, warm_policy

JOB_FILE = "job.json"
LOG_FILE = "pipeline.log"
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class PipelineJob:
    """One pipeline run to execute; ``env`` joins the child's scrubbed environment, the report goes to
    ``output_dir`` (report.md, PNGs, report.json; no report if None)."""

    job_id: str
    repo_dir: Path
    kind: str
    tracking_uri: str
    timeout_seconds: float
    tags: dict[str, str]
    use_cache: bool = True
    env: dict[str, str] = field(default_factory=dict)
    output_dir: Path | None = None
    policy: JobPolicy = field(default_factory=JobPolicy)


class JobState(StrEnum):
    """Lifecycle of a job; SUCCEEDED means a result was produced (whatever its verdict)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT})


class Executor(Protocol):
    """What the bot needs from a place that runs pipelines (local subprocesses now, Ray Jobs next)."""

    def submit(self, job: PipelineJob) -> str: ...

    def status(self, job_id: str) -> JobState: ...

    def cancel(self, job_id: str) -> None: ...

    def logs(self, job_id: str) -> str: ...

    def progress(self, job_id: str) -> list[StepEvent]: ...

    def result(self, job_id: str, timeout: float | None = None) -> PipelineResult: ...


@dataclass
class _Job:
    spec: PipelineJob
    directory: Path
    state: JobState = JobState.QUEUED
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    cancel_requested: bool = False
    result: PipelineResult | None = None
    standby_folder: Path | None = None  # the standby's folder, when one took the job: removed at its end
    done: threading.Event = field(default_factory=threading.Event)


class LocalExecutor:
    """At most ``max_concurrency`` pipeline subprocesses; further jobs wait QUEUED, first in first out."""

    def __init__(
        self, workdir: Path, max_concurrency: int = 2, kill_grace_seconds: float = 5.0, standby: bool = True,
        warm_jobs: bool = True,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1 (got {max_concurrency})")
        self.workdir = Path(workdir)
        self.max_concurrency = max_concurrency
        self.kill_grace_seconds = kill_grace_seconds
        self.standby = standby  # keep a pipeline process warm for the next job (pipelines.standby)
        self.warm_jobs = warm_jobs  # … and, in it, a sandboxed job (pipelines.warm_job)
        self._standby = Standby(self.workdir / ".standby")
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[str] = deque()
        self._running = 0

    def submit(self, job: PipelineJob) -> str:
        """Queue a job (started at once when a slot is free); returns its id."""
        if not _JOB_ID.fullmatch(job.job_id):
            raise ValueError(f"job_id {job.job_id!r} must be 1-128 letters, digits, '.', '_' or '-'")
        with self._lock:
            if job.job_id in self._jobs:
                raise ValueError(f"job {job.job_id!r} was already submitted")
            directory = self.workdir / job.job_id
            shutil.rmtree(directory, ignore_errors=True)  # leftovers of an earlier process
            (directory / "tmp").mkdir(parents=True)
            (directory / JOB_FILE).write_text(json.dumps(_job_document(job), indent=2), encoding="utf-8")
            self._jobs[job.job_id] = _Job(job, directory)
            self._queue.append(job.job_id)
            self._start_ready()
        return job.job_id

    def status(self, job_id: str) -> JobState:
        """The job's current state."""
        with self._lock:
            return self._get(job_id).state

    def cancel(self, job_id: str) -> None:
        """Stop a job: a queued one at once, a running one by killing its process group."""
        with self._lock:
            job = self._get(job_id)
            if job.state == JobState.QUEUED:
                self._queue.remove(job_id)
                self._finish(job, JobState.CANCELLED, _cancelled(job.spec.kind, []))
            elif job.state == JobState.RUNNING:
                job.cancel_requested = True

    def logs(self, job_id: str) -> str:
        """Everything the job's process wrote to stdout and stderr so far."""
        with self._lock:
            path = self._get(job_id).directory / LOG_FILE
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def progress(self, job_id: str) -> list[StepEvent]:
        """The step events the job's pipeline process wrote so far."""
        with self._lock:
            path = self._get(job_id).directory / PROGRESS_FILE
        return read_events(path)

    def result(self, job_id: str, timeout: float | None = None) -> PipelineResult:
        """Wait for the job's result; raises TimeoutError only if ``timeout`` passes first."""
        with self._lock:
            job = self._get(job_id)
        if not job.done.wait(timeout):
            raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
        assert job.result is not None  # set before done
        return job.result

    def shutdown(self, timeout: float | None = None) -> None:
        """Cancel every job that has not finished and wait for them."""
        with self._lock:
            ids = [job_id for job_id, job in self._jobs.items() if job.state not in TERMINAL_STATES]
        for job_id in ids:
            self.cancel(job_id)
        for job_id in ids:
            self.result(job_id, timeout)
        with self._lock:
            self._standby.retire()

    def _get(self, job_id: str) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise KeyError(f"unknown job {job_id!r}") from None

    def _start_ready(self) -> None:
        """Start queued jobs while slots are free (lock held)."""
        while self._queue and self._running < self.max_concurrency:
            job = self._jobs[self._queue.popleft()]
            try:
                hand_over = HandOver(job.directory / JOB_FILE, job.spec.repo_dir,
                                     child_environment(job.spec, job.directory), job.directory / LOG_FILE)
                taken = self._standby.take(standby_key(job.spec), hand_over)
                job.process, job.standby_folder = taken or (_spawn(hand_over), None)
            except OSError as exc:
                message = f"could not start the pipeline process: {exc}"
                self._finish(job, JobState.FAILED, PipelineResult.failure(job.spec.kind, "crash", message))
                continue
            job.started, job.state = time.monotonic(), JobState.RUNNING
            self._running += 1
            name = f"job-{job.spec.job_id}"
            threading.Thread(target=self._watch, args=(job,), name=name, daemon=True).start()

    def _watch(self, job: _Job) -> None:
        """Wait for the process, enforcing the timeout and cancel requests; then record the result."""
        process = job.process
        assert process is not None
        deadline = job.started + job.spec.timeout_seconds
        stopped: JobState | None = None
        while process.poll() is None:
            if job.cancel_requested:
                stopped = JobState.CANCELLED
            elif time.monotonic() >= deadline:
                stopped = JobState.TIMED_OUT
            if stopped is not None:
                _terminate(process, self.kill_grace_seconds)
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(_POLL_SECONDS)
        _signal_group(process.pid, signal.SIGKILL)  # whatever the job left running
        state, result = _outcome(job, stopped, process.wait())
        if job.standby_folder is not None:
            shutil.rmtree(job.standby_folder, ignore_errors=True)
        with self._lock:
            self._running -= 1
            self._finish(job, state, result)
            self._start_ready()
            self._warm_for(job.spec)

    def _warm_for(self, job: PipelineJob) -> None:
        """Have a standby warm up for the next job like ``job``, now that a slot is free (lock held). Not
        while jobs fill every slot: its warm-up would take CPU from them."""
        if self.standby:
            env = standby_environment(job, self.workdir)
            policy = warm_policy(job.policy) if self.warm_jobs else None
            if policy is not None:
                env[WARM_JOB_VARIABLE] = policy
            self._standby.replenish(standby_key(job), env)

    def _finish(self, job: _Job, state: JobState, result: PipelineResult) -> None:
        """Record the end of a job (lock held)."""
        job.state, job.result = state, result
        job.done.set()


def _outcome(job: _Job, stopped: JobState | None, returncode: int) -> tuple[JobState, PipelineResult]:
    """The state and result of a job whose process has ended."""
    spec, tail = job.spec, _tail(job.directory / LOG_FILE)
    if stopped == JobState.TIMED_OUT:
        message = f"timed out after {spec.timeout_seconds:g} s"
        return stopped, PipelineResult.failure(spec.kind, "timeout", message, tail)
    if stopped == JobState.CANCELLED:
        return stopped, _cancelled(spec.kind, tail)
    try:
        result = PipelineResult.from_json((job.directory / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        crash = PipelineResult.failure(spec.kind, "crash", _exit_description(returncode), tail)
        return JobState.FAILED, crash
    return (JobState.SUCCEEDED if returncode == 0 else JobState.FAILED), result


def _cancelled(kind: str, tail: list[str]) -> PipelineResult:
    return PipelineResult.failure(kind, "cancelled", "cancelled before a result", tail)


def child_environment(job: PipelineJob, directory: Path) -> dict[str, str]:
    """The job's whole environment: nothing of the parent's but PATH (no secrets), plus ``job.env``."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(directory),
        "TMPDIR": str(directory / "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": str(Path(pipelines.__file__).resolve().parent.parent),
        "PYTHONHASHSEED": "0",
        "MLFLOW_TRACKING_URI": absolute_tracking_uri(job.tracking_uri),
        **TELEMETRY_OFF,
        **job.env,
        JOB_SECRETS_VARIABLE: json.dumps(dict(job.policy.env)),
    }


def standby_key(job: PipelineJob) -> StandbyKey:
    """What a standby must have been started with to take ``job``: its tracking URI and App environment."""
    return StandbyKey(absolute_tracking_uri(job.tracking_uri), tuple(sorted(job.env.items())))


def standby_environment(job: PipelineJob, directory: Path) -> dict[str, str]:
    """A standby's environment for jobs like ``job``: the job's, without its secrets (they come with the
    hand-over)."""
    env = child_environment(job, directory)
    env.pop(JOB_SECRETS_VARIABLE, None)
    return env


def _job_document(job: PipelineJob) -> dict[str, object]:
    """job.json: no tracking URI, env or job secrets (they may hold credentials; they travel in the env)."""
    output_dir = None if job.output_dir is None else str(Path(job.output_dir).resolve())
    policy = policy_document(job.policy)
    return {"job_id": job.job_id, "repo_dir": str(Path(job.repo_dir).resolve()), "kind": job.kind,
            "timeout_seconds": job.timeout_seconds, "tags": dict(job.tags), "use_cache": job.use_cache,
            "output_dir": output_dir, "policy": policy}


def _spawn(job: HandOver) -> subprocess.Popen[bytes]:
    """A fresh pipeline process for ``job`` (no standby was warm for it)."""
    # -P: the checkout (cwd) is not put on sys.path before our package; steps add it after startup.
    command = [sys.executable, "-P", "-m", "pipelines.entry", str(job.job_file)]
    with job.log_file.open("ab") as log:
        return subprocess.Popen(
            command, cwd=job.cwd, env=job.env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def _terminate(process: subprocess.Popen[bytes], grace_seconds: float) -> None:
    """SIGTERM the process group, SIGKILL it if anything in it is still alive after the grace period."""
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and (process.poll() is None or _group_alive(process.pid)):
        time.sleep(_POLL_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the pipeline process was killed by {name} without writing a result"
    return f"the pipeline process exited with code {returncode} without writing a result"


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 256 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]
