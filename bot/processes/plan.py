"""How ``modelgate serve`` lays itself out over processes, from the machine's cores and the settings.

One core, or ``MODELGATE_PROCESSES=1``: one process does everything (HTTP intake, run workers,
acknowledger). Otherwise several intake processes share the port and do nothing but take webhooks
(the webhook ingest benchmark needs both cores for intake: bench/README.md); when there are run workers, a
background process of their own runs them and acknowledges the queued runs (without, each intake process
acknowledges what it queues)."""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_AUTO_INTAKE = 4  # SQLite has one writer at a time: past a few intake processes they only queue for it


@dataclass(frozen=True)
class ProcessPlan:
    """``intake`` HTTP processes; ``background``: one of its own for the run workers and the acknowledger."""

    intake: int
    background: bool

    @property
    def single(self) -> bool:
        """Everything in one process (no supervisor)."""
        return self.intake == 1 and not self.background


def plan_processes(cpus: int, processes: int | None, workers: int) -> ProcessPlan:
    """The layout for ``cpus`` usable cores, the ``processes`` setting (None: one intake process per core,
    at most ``MAX_AUTO_INTAKE``) and ``workers`` run workers."""
    intake = processes if processes is not None else max(1, min(cpus, MAX_AUTO_INTAKE))
    if intake == 1:
        return ProcessPlan(1, background=False)
    return ProcessPlan(intake, background=workers > 0)


def usable_cpus() -> int:
    """The cores this process may run on (its affinity mask, which containers' cpusets narrow)."""
    return len(os.sched_getaffinity(0))
