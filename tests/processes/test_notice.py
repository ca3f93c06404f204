"""The notice an intake process sends the background process: the runs its commit queued and the checkbox
ticks it stored, over a real Unix datagram socket pair."""

from __future__ import annotations

import queue

from bot.dashboard.untick import Tick
from bot.processes.notice import MAX_ITEMS, RunsListener, RunsNotifier, notice_pair
from bot.store import IncomingDelivery, JobRequest, ScheduledJob, StagingJob


def _delivery(guid: str, job: JobRequest | None) -> IncomingDelivery:
    return IncomingDelivery(guid, "issues", "edited", 7, "acme/repo", "accepted", {}, job)


def _tick(guid: str, issue: int | None, installation: int | None = 7) -> IncomingDelivery:
    return _delivery(guid, JobRequest("acme/repo", installation, None, None, "issues.edited",
                                      ScheduledJob(requested_by="ann", issue=issue)))


def test_runs_and_ticks_reach_the_background_process() -> None:
    sending, receiving = notice_pair()
    heard: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
    listener = RunsListener(receiving, lambda guids: heard.put(("runs", guids)),
                            lambda ticks: heard.put(("ticks", ticks)))
    listener.start()
    try:
        notifier = RunsNotifier(sending)
        notifier(["g-1", "g-2"])
        staging = JobRequest("acme/repo", 7, 3, "a" * 40, "pull_request.opened", StagingJob())
        notifier.committed([_delivery("g-3", staging), _delivery("g-4", None)])  # no tick: nothing sent
        notifier.committed([_tick("g-5", 12), _tick("g-6", None), _tick("g-7", 13, installation=None)])
        assert heard.get(timeout=5) == ("runs", ["g-1", "g-2"])
        assert heard.get(timeout=5) == ("ticks", [Tick("acme/repo", 7, 12), Tick("acme/repo", None, 13)])
        assert heard.empty()
    finally:
        listener.stop()


def test_a_large_commit_goes_in_several_datagrams_and_loses_nothing() -> None:
    sending, receiving = notice_pair()
    heard: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
    listener = RunsListener(receiving, heard.put)
    listener.start()
    try:
        guids = [f"{n:064d}" for n in range(2 * MAX_ITEMS + 5)]
        RunsNotifier(sending)(guids)
        got: list[str] = []
        while len(got) < len(guids):
            got += heard.get(timeout=5)
        assert got == guids
    finally:
        listener.stop()
