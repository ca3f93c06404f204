"""``RayJob``: the untrusted job run on a Ray cluster, with the surface of ``JobProcess`` so the trusted
side (``pipelines.steps``) drives either the same way: ``start()``, ``fingerprint()``, ``answer()``,
``wait()``, ``kill()``, ``tail`` and ``mask``.

One submission per run: the caller's ``submission_id`` (the run's id) is the Ray submission id, and a
job already submitted under it is attached to, never submitted twice (Ray refuses a reused id). The
job's relay on the node talks to us through ``<storage>/<submission_id>/`` (``out/``, ``champion/``,
``answer``); when the job ends, ``out/`` is copied into the local ``spec.output_dir`` as plain data.
A job the cluster no longer knows (its head restarted and lost the job table) ends the run with
StepError("vanished"), which the bot retries.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pipelines.checkout import StepError
from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy
from pipelines.masking import Masker
from pipelines.ray_jobs import runtime
from pipelines.ray_jobs.client import Failure, JobReport, JobsApi, JobsApiError
from pipelines.ray_jobs.logs import LogPump
from pipelines.ray_jobs.storage import SubmissionStorage
from pipelines.ray_jobs.target import RayTarget
from pipelines.result import LOG_TAIL_LINES
from pipelines.runtimes import JobRuntime

log = logging.getLogger(__name__)
FILE_POLL_SECONDS = 0.1
STATUS_POLL_SECONDS = 0.5
RETRY_SECONDS = 1.0
T = TypeVar("T")
STOPPED_EXIT = -int(signal.SIGTERM)  # reads as "was killed by signal 15"


_STARTING: dict[str, tuple[threading.Lock, list[int]]] = {}  # submission id -> its lock, starters holding it
_STARTING_GUARD = threading.Lock()


@contextmanager
def _starting(submission_id: str) -> Iterator[None]:
    """One starter of ``submission_id`` at a time in this process (the entry goes with its last starter)."""
    with _STARTING_GUARD:
        lock, starters = _STARTING.setdefault(submission_id, (threading.Lock(), [0]))
        starters[0] += 1
    try:
        with lock:
            yield
    finally:
        with _STARTING_GUARD:
            starters[0] -= 1
            if starters[0] == 0:
                del _STARTING[submission_id]


class RayJob:
    """One job on a Ray cluster. ``start()``, then ``fingerprint()``, ``answer()`` and ``wait()``."""

    def __init__(
        self, spec: JobSpec, policy: JobPolicy, target: RayTarget, submission_id: str, timeout_seconds: float,
        environment: JobRuntime | None = None,
    ) -> None:
        self.spec, self.policy, self.target = spec, policy, target
        self.submission_id, self.environment = submission_id, environment
        self.timeout_seconds = timeout_seconds
        self.deadline = time.monotonic() + timeout_seconds
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.mask = Masker(policy.env.values())
        self.storage = SubmissionStorage.under(target.storage, submission_id)
        self.attached = False  # True: the job had been submitted already (by another RayJob)
        self._api = JobsApi(target.address)
        self._pump = LogPump(lambda: self._api.logs(submission_id), self.mask, self.tail)
        self._started = False
        self._checked_at = float("-inf")
        self._last: JobReport | None = None
        self._unanswered_since: float | None = None

    def start(self) -> None:
        """Submit the job, or attach to the one already submitted under this id (StepError("crash")
        when the cluster cannot be reached). Starters of one id in this process take turns: one that
        found no job clears the id's storage before it submits, which must never happen to a job another
        starter has just submitted."""
        with _starting(self.submission_id):
            self._start()

    def _start(self) -> None:
        try:
            self._retrying(lambda: self._api.report(self.submission_id))
            self.attached = True
        except JobsApiError as exc:
            if exc.failure != Failure.MISSING:
                raise StepError("crash", f"the Ray cluster at {self.target.address}: {exc.message}") from exc
            self._submit()
        self._started = True
        if self.attached:
            log.info("Ray job %s was submitted already: following it", self.submission_id)
        self._pump.start()

    def fingerprint(self) -> files.JobFingerprint | None:
        """Wait for the job's data fingerprint; None when the job ended before writing it."""

        def running() -> bool:
            ended = self._ended()
            self.storage.fetch_file(files.FINGERPRINT_FILE, self.spec.output_dir)
            return not ended

        return files.wait_for_fingerprint(self.spec.output_dir, running, FILE_POLL_SECONDS)

    def answer(self, go_on: bool, champion_version: int | None = None) -> None:
        """Give the job the champion's files (the trusted side filled ``spec.champion_dir`` meanwhile),
        then the answer line."""
        if go_on and champion_version is not None:
            self.storage.put_champion(self.spec.champion_dir)
        self.storage.put_answer(files.answer_line(go_on, champion_version))

    def wait(self) -> int:
        """The job's exit code once it ended (0 succeeded, 1 failed, -15 stopped), its outputs copied into
        ``spec.output_dir``; StepError("timeout") when the time limit passes first."""
        while not self._ended():
            time.sleep(STATUS_POLL_SECONDS)
        self._pump.stop()
        self._pump.drain(final=True)
        self.storage.fetch_outputs(self.spec.output_dir)
        report = self._last
        assert report is not None  # _ended() returned True on a report
        if report.status == "SUCCEEDED":
            return 0
        if report.status == "STOPPED":
            return STOPPED_EXIT
        return report.exit_code if report.exit_code not in (None, 0) else 1

    def kill(self) -> None:
        """Stop the job (``stop_job``; nothing happens to a job that ended) and stop following its log."""
        self._pump.stop()
        if not self._started:
            return
        try:
            self._api.stop(self.submission_id)
        except JobsApiError as exc:
            log.warning("could not stop Ray job %s: %s", self.submission_id, exc.message)

    def _submit(self) -> None:
        self.storage.clear()  # leftovers of an earlier job with this id, which the cluster forgot
        environment, prebuilt = self.environment, self.target.environments == "prebuilt"
        relay = runtime.relay_spec(self.spec, self.storage, environment if prebuilt else None)
        pins = None if environment is None or prebuilt else list(environment.requirements)
        env = runtime.runtime_env(self.spec.repo_dir, self.policy, pins)
        try:
            self._retrying(lambda: self._api.submit(self.submission_id, runtime.entrypoint(relay), env))
        except JobsApiError as exc:
            if exc.failure != Failure.EXISTS:
                raise StepError("crash", f"could not submit the job to Ray at {self.target.address}: "
                                         f"{exc.message}") from exc
            self.attached = True  # another RayJob submitted it first

    def _retrying(self, call: Callable[[], T]) -> T:
        """``call()``, again every second while the cluster is unreachable or not ready (a head that just
        started has no job agent yet: "No available agent to submit job"), for up to
        ``unreachable_seconds``; a submit that did land meanwhile then reads as "already exists"."""
        deadline = time.monotonic() + self.target.unreachable_seconds
        while True:
            try:
                return call()
            except JobsApiError as exc:
                if exc.failure != Failure.UNREACHABLE or time.monotonic() >= deadline:
                    raise
                log.info("the Ray cluster at %s is not ready (%s): trying again", self.target.address,
                         exc.message)
                time.sleep(RETRY_SECONDS)

    def _ended(self) -> bool:
        """Whether the job reached a terminal status (polled at most every STATUS_POLL_SECONDS).

        StepError("timeout") past the deadline (the job is stopped); StepError("vanished") when the
        cluster does not know the job any more, or has not answered for ``unreachable_seconds``.
        """
        if not self._started:
            raise RuntimeError("the job was not started")
        now = time.monotonic()
        if now >= self.deadline:
            self.kill()
            raise StepError("timeout", f"timed out after {self.timeout_seconds:g} s", list(self.tail))
        if now - self._checked_at < STATUS_POLL_SECONDS:
            return self._last is not None and self._last.terminal
        self._checked_at = now
        try:
            self._last = self._api.report(self.submission_id)
            self._unanswered_since = None
        except JobsApiError as exc:
            self._vanished_or_not(exc, now)
        return self._last is not None and self._last.terminal

    def _vanished_or_not(self, exc: JobsApiError, now: float) -> None:
        """StepError("vanished") for a job the cluster lost; an unreachable cluster gets some time."""
        if exc.failure == Failure.MISSING:
            self._pump.stop()
            raise StepError("vanished", f"the Ray job {self.submission_id} vanished (the head restarted?)",
                            list(self.tail))
        self._unanswered_since = self._unanswered_since or now
        if now - self._unanswered_since >= self.target.unreachable_seconds:
            self._pump.stop()
            raise StepError("vanished", f"the Ray job {self.submission_id} vanished: the cluster at "
                                        f"{self.target.address} has not answered for "
                                        f"{self.target.unreachable_seconds:g} s ({exc.message})",
                            list(self.tail))
