"""When the App loses repositories (uninstalled, suspended, or repositories removed from its installation):
forget their schedules, so nothing fires for a repository the App can no longer reach (``bot.runs.install``
reads them again when it reaches them)."""

from __future__ import annotations

import logging

from bot.runs.outcome import RunOutcome
from bot.store import RunRecord, RunState, ScheduleStore, UninstallJob

log = logging.getLogger(__name__)


class UninstallRun:
    """Handles claimed uninstall runs (a ``RunHandler`` for the worker pool)."""

    def __init__(self, schedules: ScheduleStore) -> None:
        self._schedules = schedules

    def __call__(self, run: RunRecord) -> RunOutcome:
        job = run.job_as(UninstallJob)
        if job.repositories is None:
            dropped = self._schedules.drop(installation_id=job.installation_id)
        else:
            dropped = self._schedules.drop(repositories=job.repositories)
        log.info("run %d: dropped %d schedules of %s", run.id, dropped, job.repositories or
                 f"installation {job.installation_id}")
        return RunOutcome(RunState.SUCCEEDED, result={"schedules_dropped": dropped})
