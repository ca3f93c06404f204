"""Queued at intake: as soon as a delivery that queues a staging run is stored, the run's commit gets a
``pending`` status "queued (N ahead)" and a ``queued`` check run, however busy the workers are; and as soon
as a tick of a dashboard's "retrain now" checkbox is stored, the box is unticked (whoever ticked it: the
worker decides whether their scheduled run runs, and unticks it again when it starts, should this fail).

A thread of its own does it, off the webhook's request; it writes through the App's clients (their rate
limiter) and through ``RunReporter`` (one check run per run and SHA, which the worker that claims the
run moves to ``in_progress``). ``bot.store.acknowledgements`` settles the race with that worker. A fork's
PR or a draft is not acknowledged: its run decides what to show (a fork waits for a maintainer).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from bot.dashboard.untick import Tick, ticks_in, untick_quietly
from bot.feedback.check_run import RunReporter
from bot.feedback.messages import queued_description
from bot.github import Repo
from bot.github.clients import AcknowledgerClient, ClientFactory
from bot.processes.heap import freeze_startup_heap
from bot.store import AcknowledgementStore, IncomingDelivery, RunRecord, RunStore, StagingJob

log = logging.getLogger(__name__)
WRITERS = 4  # runs acknowledged at once


class Acknowledger:
    """Acknowledges the staging runs of stored deliveries, on its own thread (``start``/``stop``)."""

    def __init__(
        self, github: ClientFactory[AcknowledgerClient], runs: RunStore,
        acknowledgements: AcknowledgementStore, warm: Callable[[], None] | None = None,
    ) -> None:
        """``warm``: run first on the thread, before any acknowledgement (``GitHubApp.warm``)."""
        self._github, self._runs, self._acks = github, runs, acknowledgements
        self._warm = warm
        self._pending: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._writers: ThreadPoolExecutor | None = None

    def runs_queued(self, delivery_guids: list[str]) -> None:
        """The writer's listener: hand the deliveries that queued a run of their own to the thread (one
        that joined a queued run has nothing to acknowledge; a query per commit for them took a sixth of
        the process's time under load)."""
        self._pending.put(delivery_guids)

    def committed(self, fresh: list[IncomingDelivery]) -> None:
        """The writer's listener for every new delivery: untick the checkbox each tick of a dashboard's
        "retrain now" ticked (whether its run was queued or joined a queued one), off the writer's thread."""
        self.untick(ticks_in(fresh))

    def untick(self, ticks: Sequence[Tick]) -> None:
        """Untick these ticks' checkboxes on the writing threads (from a notice or ``committed``)."""
        for tick in ticks:
            try:
                if self._writers is not None:
                    self._writers.submit(self._untick, *tick)
            except RuntimeError:  # stopping: the worker unticks it when the run starts
                log.info("not unticking %s#%d: stopping", tick.repository, tick.issue)

    def _untick(self, repository: str, installation_id: int | None, issue: int) -> None:
        try:
            api = self._github.for_repository(repository, installation_id)
        except Exception as exc:  # no token: the worker unticks it when the run starts
            log.warning("could not untick %s#%d: %s: %s", repository, issue, type(exc).__name__, exc)
            return
        untick_quietly(api, Repo.parse(repository), issue)

    def start(self) -> None:
        """Start the thread that finds the runs, and the ones that write to GitHub (several runs at once:
        PRs opened together are acknowledged together)."""
        self._writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="acknowledger-write")
        self._thread = threading.Thread(target=self._loop, name="acknowledger", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Acknowledge what is waiting, then stop."""
        if self._thread is not None:
            self._pending.put(None)
            self._thread.join(timeout)
            self._thread = None
        if self._writers is not None:
            self._writers.shutdown(wait=True)
            self._writers = None

    def acknowledge(self, delivery_guids: Sequence[str]) -> list[RunRecord]:
        """Acknowledge the queued staging runs these deliveries made, one after the other; the runs
        acknowledged."""
        return [run for run in self._due(delivery_guids) if self._acknowledge(run)]

    def _due(self, delivery_guids: Sequence[str]) -> list[RunRecord]:
        """The runs of these deliveries to acknowledge: not a fork's or a draft's, with a known commit."""
        return [run for run in self._acks.unacknowledged(delivery_guids) if run.head_sha is not None
                and not run.job_as(StagingJob).fork and not run.job_as(StagingJob).draft]

    def _acknowledge(self, run: RunRecord, handed: float | None = None) -> bool:
        """Write the run's queued check run and pending status, unless a worker has it already. ``handed``:
        when the thread was told of it (``time.monotonic``), for the DEBUG line of where the time went."""
        marks = [time.monotonic() if handed is None else handed, time.monotonic()]
        if run.head_sha is None or not self._acks.begin(run.id):
            return False
        try:
            marks.append(time.monotonic())
            api = self._github.for_repository(run.repository, run.installation_id)
            reporter = RunReporter(api, Repo.parse(run.repository), self._runs, run, run.head_sha)
            description = queued_description(self._acks.ahead_of(run.id))
            marks.append(time.monotonic())
            reporter.queue(description)
            marks.append(time.monotonic())
            spans = " / ".join(f"{(end - start) * 1000:.1f}" for start, end in pairwise(marks))
            log.debug("acknowledged run %d: %s ms waiting for a writing thread / claiming / client and queue "
                      "position / GitHub", run.id, spans)
            return True
        except Exception as exc:  # GitHub refused or is down: the worker writes its own status later
            log.warning("could not acknowledge run %d: %s: %s", run.id, type(exc).__name__, exc)
            return False
        finally:
            self._acks.end(run.id)

    def _loop(self) -> None:
        if self._warm is not None:
            try:
                self._warm()
                freeze_startup_heap("warming the GitHub client")
            except Exception:  # only slower: the first acknowledgement imports it
                log.exception("warming the GitHub client failed")
        while (guids := self._pending.get()) is not None:
            try:
                handed = time.monotonic()
                for run in self._due(guids):
                    assert self._writers is not None
                    self._writers.submit(self._acknowledge, run, handed)
            except Exception:
                log.exception("acknowledging deliveries %s failed", guids)
