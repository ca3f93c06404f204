"""A scheduled run: the production pipeline on the default branch's head commit, fired by a schedule of the
default branch's configuration, by the dashboard's "retrain now" checkbox, or by a re-run of its check.

It differs from a merge's production run in where its commit comes from (GitHub's default branch head when
the run starts, so nothing of a webhook or a PR picks it), in who may ask for it (a person asking needs
write access; the dashboard's checkbox that asked is unticked when it starts, if the intake could not), and in
what is promoted once: the run itself (``scheduled:<run id>``), since the same commit is trained again on
fresh data. The data functions see ``MODELGATE_TRIGGER=schedule``; the result
cache is not used (always retrain). The outcome goes to the check run ``modelgate / scheduled``.
"""

from __future__ import annotations

import logging

from bot.commands.base import allows
from bot.dashboard.untick import untick_quietly
from bot.github import Repo
from bot.github.clients import ProductionClient
from bot.runs.outcome import RunOutcome, Stop
from bot.runs.production import ProductionRun
from bot.runs.repo_config import read_config
from bot.store import RunRecord, RunState, ScheduledJob
from pipelines.config import ModelgateConfig

log = logging.getLogger(__name__)
REQUESTER_PERMISSION = "write"  # who may ask for a scheduled run: as for /retrain's approval


class ScheduledRun(ProductionRun):
    """Handles claimed scheduled runs (a ``RunHandler`` for the worker pool)."""

    def _begin(
        self, api: ProductionClient, repo: Repo, run: RunRecord
    ) -> RunOutcome | tuple[str, ModelgateConfig | None]:
        job = run.job_as(ScheduledJob)
        if job.issue is not None:  # the intake unticked it at once, unless GitHub was down then
            untick_quietly(api, repo, job.issue)
        if job.requested_by is not None:
            role = api.permission(repo, job.requested_by)
            if not allows(role, REQUESTER_PERMISSION):
                reason = f"{job.requested_by} asked for a scheduled run without write access ({role})"
                log.info("run %d: %s", run.id, reason)
                return RunOutcome(RunState.CANCELLED, error=reason)
        branch = str(api.get_repository(repo).get("default_branch") or "")
        sha = api.branch_head(repo, branch) if branch else None
        if sha is None:
            return RunOutcome(RunState.CANCELLED, error=f"the default branch {branch!r} has no head commit")
        try:
            config = read_config(api, repo, sha)
        except Stop:
            return sha, None  # read again once the check run is open: it says what is wrong
        if job.schedule is not None and job.schedule not in {entry.key for entry in config.schedule}:
            reason = f"the schedule {job.schedule!r} is no longer in the default branch's configuration"
            return RunOutcome(RunState.CANCELLED, error=reason)
        return sha, config

    def _promotion_key(self, run: RunRecord, sha: str) -> str:
        """Each scheduled run promotes at most once, whatever commit it trained."""
        return f"scheduled:{run.id}"
