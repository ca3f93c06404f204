"""Worker pool: threads that claim queued runs from the store and process them.

Several ``modelgate serve`` / ``modelgate worker`` processes can share one database: claims
are atomic in the store. Each claimed run is heart-beaten while it is processed; a janitor
re-queues (or fails, after ``max_attempts``) runs whose worker stopped heart-beating.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.logs import log_context
from bot.metrics import RUN_SECONDS
from bot.runs.outcome import RunHandler, RunOutcome
from bot.runs.retry import Retry, gave_up, retry_decision
from bot.store import InvalidTransition, RunRecord, RunState, RunStore

log = logging.getLogger(__name__)


@dataclass
class PoolOptions:
    """Tuning of a worker pool."""

    size: int = 2
    lease_seconds: float = 60.0
    max_attempts: int = 3
    poll_interval: float = 1.0
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )


class WorkerPool:
    """Claims and processes runs on ``size`` threads until stopped."""

    def __init__(
        self,
        runs: RunStore,
        handle: RunHandler,
        options: PoolOptions | None = None,
        on_abandoned: Callable[[RunRecord], None] | None = None,
    ) -> None:
        self._runs = runs
        self._handle = handle
        self.options = options or PoolOptions()
        self._on_abandoned = on_abandoned
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._active: set[int] = set()
        self._active_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._starting = threading.Lock()  # start_in_background's start against stop
        self.state = "stopped"  # starting, running, failed (preparing failed), stopped

    def start(self) -> None:
        """Recover runs left by dead workers, then start the threads."""
        self.recover()
        self.state = "running"  # before the threads: a run they finish at once finds the pool running
        for index in range(self.options.size):
            self._spawn(self._work, f"run-worker-{index}")
        self._spawn(self._keepalive, "run-heartbeat")

    def start_in_background(self, prepare: Callable[[], None]) -> None:
        """``prepare`` (the MLflow store: seconds), then ``start``, on a thread of their own, so that the
        caller (the webhook intake) does not wait for them. If ``prepare`` fails the pool stays stopped
        and ``state`` says ``failed`` (``/healthz`` answers 503)."""
        self.state = "starting"

        def begin() -> None:
            try:
                prepare()
            except Exception:
                log.exception("the run workers did not start: preparing them failed")
                self.state = "failed"
                return
            with self._starting:
                if not self._stop.is_set():
                    self.start()

        self._spawn(begin, "run-workers-start")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming (or starting); wait for the runs in progress to finish."""
        with self._starting:
            self._stop.set()
        self.wake()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(timeout)
        self._threads.clear()
        if self.state != "failed":
            self.state = "stopped"

    def wake(self) -> None:
        """Tell idle workers that new runs may be queued (no effect on other processes)."""
        with self._wake:
            self._wake.notify_all()

    def recover(self) -> list[RunRecord]:
        """Re-queue or fail runs whose worker stopped heart-beating; report the failed ones."""
        changed = self._runs.recover_stale(self.options.lease_seconds, self.options.max_attempts)
        for run in changed:
            log.warning("run %d of a dead worker is now %s", run.id, run.state)
            if run.state == RunState.FAILED:
                self._report_abandoned(run)
        return changed

    def run_one(self) -> RunRecord | None:
        """Claim and process one run; returns the finished record, or None when idle."""
        run = self._runs.claim(self.options.worker_id)
        if run is None:
            return None
        with log_context(run_id=run.id, delivery_id=run.delivery_guid, repository=run.repository,
                         sha=run.head_sha):
            return self._process(run)

    def _process(self, run: RunRecord) -> RunRecord | None:
        """Process a claimed run and record its outcome."""
        log.info("run %d (%s %s) started, attempt %d", run.id, run.kind, run.repository, run.attempts)
        with self._active_lock:
            self._active.add(run.id)
        started = time.monotonic()
        out_of_attempts = False
        try:
            outcome = self._handle(run)
        except Retry as retry:
            retried = self._retry(run, retry)
            if retried is None:
                return self._runs.get(run.id)
            outcome, out_of_attempts = retried, True
        except Exception as exc:
            log.exception("run %d crashed", run.id)
            outcome = RunOutcome(RunState.FAILED, error=f"{type(exc).__name__}: {exc}")
        finally:
            with self._active_lock:
                self._active.discard(run.id)
        try:
            finished = self._runs.finish(run.id, outcome.state, result=outcome.result, error=outcome.error)
        except InvalidTransition:
            # our lease expired meanwhile and recovery handed the run to another worker
            log.warning("run %d was taken back from this worker; its outcome is dropped", run.id)
            return self._runs.get(run.id)
        RUN_SECONDS.labels(kind=run.kind, state=str(outcome.state)).observe(time.monotonic() - started)
        log.info("run %d (%s %s) finished: %s", run.id, run.kind, run.repository, outcome.state)
        if out_of_attempts:
            self._report_abandoned(finished)
        return finished

    def _retry(self, run: RunRecord, retry: Retry) -> RunOutcome | None:
        """Put the run back in the queue (None), or, out of attempts, the outcome that fails it (its check
        run is then closed as for a run of a dead worker)."""
        decision = retry_decision(retry.error_kind, run.attempts, self.options.max_attempts)
        if decision == RunState.QUEUED:
            try:
                self._runs.requeue(run.id, retry.reason)
                log.warning("run %d queued again (attempt %d of %d): %s", run.id, run.attempts,
                            self.options.max_attempts, retry.reason)
            except InvalidTransition:
                log.warning("run %d was taken back from this worker; not queued again", run.id)
            return None
        return RunOutcome(RunState.FAILED, error=gave_up(retry.reason, run.attempts))

    def _report_abandoned(self, run: RunRecord) -> None:
        """Tell the world that ``run`` failed for good without its handler's report."""
        if self._on_abandoned is None:
            return
        try:
            self._on_abandoned(run)
        except Exception:
            log.exception("could not report abandoned run %d", run.id)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_one()
            except Exception:
                log.exception("worker loop error; retrying shortly")
                done = None
            if done is None:
                with self._wake:
                    self._wake.wait(self.options.poll_interval)

    def _keepalive(self) -> None:
        beat = max(self.options.lease_seconds / 4, 0.05)
        next_recovery = time.monotonic() + self.options.lease_seconds
        while not self._stop.wait(beat):
            with self._active_lock:
                active = list(self._active)
            for run_id in active:
                try:
                    self._runs.heartbeat(run_id, self.options.worker_id)
                except Exception:
                    log.exception("heartbeat for run %d failed", run_id)
            if time.monotonic() >= next_recovery:
                next_recovery = time.monotonic() + self.options.lease_seconds
                try:
                    self.recover()
                except Exception:
                    log.exception("stale-run recovery failed")
