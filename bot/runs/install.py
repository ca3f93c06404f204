"""When the App reaches repositories (installed on them, repositories added to its installation, the
installation unsuspended): store their schedules from their default branches' ``.modelgate.yml`` now, rather
than at their next push, and show them on their dashboards.

One repository after the other, through the installation's client: its reads are GitHub's ordinary calls
(with the client's retries on rate limits), and the dashboards it writes wait on the installation's
content-creation limiter, so a large installation never bursts past the App's limits. A repository without
a configuration, or with a broken one, gets no schedules and a log line saying why; one GitHub would not
answer for is named in the run's error once the others are done (the run can be re-run: it only reads).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.dashboard.keeper import Dashboard
from bot.github import Repo
from bot.github.clients import ClientFactory, InstallClient
from bot.runs.outcome import RunOutcome
from bot.runs.repo_config import default_branch_config
from bot.schedules.sync import sync_schedules
from bot.store import InstallJob, RunRecord, RunState, ScheduleStore
from bot.store.types import utc_now

log = logging.getLogger(__name__)


class InstallRun:
    """Handles claimed install runs (a ``RunHandler`` for the worker pool)."""

    def __init__(
        self, github: ClientFactory[InstallClient], schedules: ScheduleStore,
        dashboard: Dashboard | None = None, clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._github, self._schedules, self._dashboard, self._clock = github, schedules, dashboard, clock

    def __call__(self, run: RunRecord) -> RunOutcome:
        job = run.job_as(InstallJob)
        api = self._github.for_repository(run.repository, job.installation_id)
        names = list(job.repositories) if job.repositories is not None else api.installation_repositories()
        log.info("run %d: reading the schedules of %d repositories of installation %d", run.id, len(names),
                 job.installation_id)
        stored: dict[str, int] = {}
        failed: dict[str, str] = {}
        for name in names:
            try:
                stored[name] = self._sync(api, run, job.installation_id, name)
            except Exception as exc:  # GitHub refused this one: the others still get theirs
                failed[name] = f"{type(exc).__name__}: {exc}"
                log.warning("run %d: %s: schedules not read: %s", run.id, name, failed[name])
        result = {"schedules": stored, "failed": failed}
        if failed:
            error = f"could not read the configuration of {', '.join(sorted(failed))}"
            return RunOutcome(RunState.FAILED, result=result, error=error)
        return RunOutcome(RunState.SUCCEEDED, result=result)

    def _sync(self, api: InstallClient, run: RunRecord, installation_id: int, name: str) -> int:
        """Store ``name``'s schedules from its default branch and refresh its dashboard; how many it has."""
        repo = Repo.parse(name)
        branch = str(api.get_repository(repo).get("default_branch") or "")
        config = default_branch_config(api, repo, branch)
        if isinstance(config, str):
            sync_schedules(self._schedules, name, installation_id, None, self._clock())
            log.info("run %d: %s: %s: no schedules", run.id, name, config)
            return 0
        count = sync_schedules(self._schedules, name, installation_id, config, self._clock())
        log.info("run %d: %s: %d schedules from its default branch %s", run.id, name, count, branch)
        if self._dashboard is not None:
            self._dashboard.refresh(api, repo, config, run)
        return count
