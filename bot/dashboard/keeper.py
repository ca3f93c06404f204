"""Keeping the repository's dashboard issue: gather what it shows from the store and GitHub, render it, and
edit the one issue found by its marker (created once, never duplicated). Best effort: a failure is logged,
never a run's failure. Callers are production and scheduled runs, one at a time per repository."""

from __future__ import annotations

import logging
from typing import Any

from bot.dashboard.render import TITLE, Champion, DashboardView, OpenPull, Outcome, render
from bot.feedback.names import DASHBOARD_MARKER
from bot.github import Repo
from bot.github.clients import DashboardClient
from bot.store import DeploymentState, DeploymentStore, RunRecord, RunStore, ScheduleStore
from pipelines.config import ModelgateConfig

log = logging.getLogger(__name__)
DECIDING_KINDS = ("production", "scheduled")
OUTCOME_ROWS = 10
PULL_ROWS = 20
DELTA_METRICS = 3


class Dashboard:
    """Renders and writes one repository's dashboard issue."""

    def __init__(self, runs: RunStore, deployments: DeploymentStore, schedules: ScheduleStore) -> None:
        self._runs, self._deployments, self._schedules = runs, deployments, schedules

    def refresh(
        self, api: DashboardClient, repo: Repo, config: ModelgateConfig, finished: RunRecord | None = None
    ) -> int | None:
        """Bring the dashboard up to date (unless ``dashboard: false``), showing ``finished``'s outcome (a run
        whose result is not stored yet); its issue number, None when off or when it could not be written."""
        if not config.dashboard:
            return None
        try:
            body = render(self.view(api, str(repo), config, finished))
            existing = api.find_issue(repo, DASHBOARD_MARKER)
            if existing is None:
                return api.create_issue(repo, TITLE, body)
            if existing.get("body") != body:
                api.edit_issue(repo, int(existing["number"]), body)
            return int(existing["number"])
        except Exception:  # the dashboard never fails a run
            log.exception("dashboard of %s not updated", repo)
            return None

    def view(
        self, api: DashboardClient, repository: str, config: ModelgateConfig,
        finished: RunRecord | None = None,
    ) -> DashboardView:
        """What the dashboard of ``repository`` shows now."""
        deciding = [run for kind in DECIDING_KINDS
                    for run in self._runs.list_runs(repository, kind=kind, limit=50)
                    if finished is None or run.id != finished.id]
        deciding += [finished] if finished is not None else []
        deciding.sort(key=lambda run: run.id, reverse=True)
        outcomes = [o for o in (_outcome(run) for run in deciding) if o is not None][:OUTCOME_ROWS]
        plots = [str(r.result["history_plot"]) for r in deciding if r.result and r.result.get("history_plot")]
        schedules = self._schedules.of(repository)
        next_run = (schedules[0].next_fire_at, schedules[0].cron) if schedules else None
        return DashboardView(self._champion(repository, config.model.name, deciding), outcomes,
                             plots[0] if plots else None,
                             self._pulls(api, repository), next_run)

    def _champion(self, repository: str, model: str, deciding: list[RunRecord]) -> Champion:
        serving = [d for d in self._deployments.all() if d.repository == repository.lower()
                   and d.model_name == model and d.state != DeploymentState.RETIRED]
        if serving:
            return Champion(model, serving[0].version, serving[0].url, serving[0].target)
        promoted = next((o.version for o in map(_outcome, deciding) if o and o.state == "promoted"), None)
        return Champion(model, promoted)

    def _pulls(self, api: DashboardClient, repository: str) -> list[OpenPull]:
        pulls = api.open_pulls(Repo.parse(repository))[:PULL_ROWS]
        shown = []
        for pull in pulls:
            number, head = int(pull["number"]), (pull.get("head") or {}).get("sha")
            staged = [r for r in self._runs.list_runs(repository, pr_number=number, kind="staging", limit=20)
                      if r.head_sha == head and r.result]
            result: dict[str, Any] = staged[0].result or {} if staged else {}
            title = str(pull.get("title") or "")
            shown.append(OpenPull(number, title, result.get("verdict"), result.get("summary")))
        return shown


def _outcome(run: RunRecord) -> Outcome | None:
    """The promotion decision a finished run recorded (None: it decided nothing, e.g. a skipped push)."""
    result = run.result or {}
    production = result.get("production") or {}
    state = production.get("state")
    if state not in ("promoted", "rejected", "failed") or result.get("verdict") == "duplicate":
        return None
    trigger = f"merge of #{run.pr_number}" if run.pr_number is not None else run.trigger
    return Outcome(run.id, run.finished_at, trigger, result.get("sha"), str(state), production.get("version"),
                   _deltas(result))


def _deltas(result: dict[str, Any]) -> list[tuple[str, float]]:
    """The candidate's change against the champion on the first configured metrics (positive: better)."""
    metrics = result.get("metrics") or {}
    candidate, champion = metrics.get("candidate") or {}, metrics.get("champion") or {}
    better = result.get("higher_is_better") or {}
    deltas = []
    for name, value in candidate.items():
        if name in champion and isinstance(value, int | float) and isinstance(champion[name], int | float):
            sign = 1.0 if better.get(name, True) else -1.0
            deltas.append((name, sign * (float(value) - float(champion[name]))))
    return deltas[:DELTA_METRICS]
