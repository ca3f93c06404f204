"""Keeping the repository's dashboard issue: gather what it shows from the store and GitHub, render it, and
edit the one issue found by its marker (created once, never duplicated). Best effort: a failure is logged,
never a run's failure.

Callers are runs (production, scheduled, staging, install), one at a time per repository whatever their kind
or replica: a refresh holds the database lock ``dashboard:<repository>`` (``LockStore``, held by its run),
so two refreshes never both find no issue and both open one. The issue's number is remembered
(``DashboardStore``) once found or opened, and read directly from then on: searching a repository's issues
for the marker goes a hundred at a time and would miss it past the first pages. The champion-history plot it
shows is pinned
in the report files (``ReportFileStore.pin``): report retention never breaks the dashboard's image.
``dashboard: false`` turns it off: the issue is left closed with a note, and reopened when it is back on.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from bot.dashboard.render import TITLE, Champion, DashboardView, OpenPull, Outcome, render, render_off
from bot.feedback.names import DASHBOARD_MARKER
from bot.feedback.report_files import published_file
from bot.github import Repo
from bot.github.clients import DashboardClient
from bot.store import (
    DashboardStore,
    DeploymentState,
    DeploymentStore,
    LockStore,
    ReportFileStore,
    RunRecord,
    RunStore,
    ScheduleStore,
)
from bot.store.types import utc_now
from pipelines.config import ModelgateConfig

log = logging.getLogger(__name__)
DECIDING_KINDS = ("production", "scheduled")
OUTCOME_ROWS = 10
PULL_ROWS = 20
DELTA_METRICS = 3
LOCK_SECONDS = 60.0  # a refresh waits this long for another one of the repository, then gives up


class Dashboard:
    """Renders and writes one repository's dashboard issue."""

    def __init__(
        self, runs: RunStore, deployments: DeploymentStore, schedules: ScheduleStore, *,
        locks: LockStore | None = None, pins: ReportFileStore | None = None,
        issues: DashboardStore | None = None, lock_seconds: float = LOCK_SECONDS,
    ) -> None:
        self._runs, self._deployments, self._schedules = runs, deployments, schedules
        self._locks, self._pins, self._issues, self._lock_seconds = locks, pins, issues, lock_seconds

    @classmethod
    def on(cls, engine: Engine) -> Dashboard:
        """The keeper with every store on ``engine`` (its lock, pins and issue numbers too)."""
        return cls(RunStore(engine), DeploymentStore(engine), ScheduleStore(engine), locks=LockStore(engine),
                   pins=ReportFileStore(engine), issues=DashboardStore(engine))

    def refresh(
        self, api: DashboardClient, repo: Repo, config: ModelgateConfig, run: RunRecord
    ) -> int | None:
        """Bring the dashboard up to date for ``run``, which refreshes it (holding the repository's dashboard
        lock) and shows its outcome (its ``result``, not stored yet, if it has one). With ``dashboard:
        false`` the issue is closed instead. Its issue number; None when off or when it was not written."""
        try:
            with self._locked(str(repo), run):
                if not config.dashboard:
                    self._turn_off(api, repo)
                    return None
                return self._write(api, repo, config, run)
        except Exception:  # the dashboard never fails a run
            log.exception("dashboard of %s not updated", repo)
            return None

    def view(
        self, api: DashboardClient, repository: str, config: ModelgateConfig, run: RunRecord | None = None,
    ) -> DashboardView:
        """What the dashboard of ``repository`` shows now (with ``run``'s result when it has one)."""
        deciding = [stored for kind in DECIDING_KINDS
                    for stored in self._runs.list_runs(repository, kind=kind, limit=50)
                    if run is None or stored.id != run.id]
        deciding += [run] if run is not None and run.kind in DECIDING_KINDS else []
        deciding.sort(key=lambda r: r.id, reverse=True)
        outcomes = [o for o in (_outcome(r) for r in deciding) if o is not None][:OUTCOME_ROWS]
        plots = [str(r.result["history_plot"]) for r in deciding if r.result and r.result.get("history_plot")]
        schedules = self._schedules.of(repository)
        next_run = (schedules[0].next_fire_at, schedules[0].cron) if schedules else None
        return DashboardView(self._champion(repository, config.model.name, deciding), outcomes,
                             plots[0] if plots else None,
                             self._pulls(api, repository, run), next_run)

    def _write(self, api: DashboardClient, repo: Repo, config: ModelgateConfig, run: RunRecord) -> int:
        view = self.view(api, str(repo), config, run)
        body = render(view)
        existing = self._existing(api, repo)
        if existing is None:
            number = api.create_issue(repo, TITLE, body)
            self._remember(str(repo), number)
        else:
            number = int(existing["number"])
            reopen = existing.get("state") == "closed" and existing.get("body") == render_off()
            if existing.get("body") != body or reopen:
                api.edit_issue(repo, number, body, state="open" if reopen else None)
        self._pin(str(repo), view.history_plot)
        return number

    def _turn_off(self, api: DashboardClient, repo: Repo) -> None:
        """``dashboard: false``: leave the issue (if any) closed with a note and without its checkbox."""
        self._pin(str(repo), None)
        existing = self._existing(api, repo)
        if existing is None:
            return
        if existing.get("state") != "closed" or existing.get("body") != render_off():
            api.edit_issue(repo, int(existing["number"]), render_off(), state="closed")

    def _existing(self, api: DashboardClient, repo: Repo) -> dict[str, Any] | None:
        """The dashboard issue: the remembered one while it is still the App's dashboard, else the one its
        marker finds (remembered from then on); None when there is none."""
        number = self._issues.issue(str(repo)) if self._issues is not None else None
        if number is not None:
            issue = api.get_issue(repo, number)
            if issue is not None and _is_dashboard(issue):
                return issue
        found = api.find_issue(repo, DASHBOARD_MARKER)
        if found is not None:
            self._remember(str(repo), int(found["number"]))
        elif number is not None and self._issues is not None:
            self._issues.forget(str(repo))
        return found

    def _remember(self, repository: str, number: int) -> None:
        if self._issues is not None:
            self._issues.remember(repository, number)

    def _pin(self, repository: str, plot: str | None) -> None:
        """Keep the plot the dashboard shows past the report retention (and only that one)."""
        if self._pins is None:
            return
        holder = _name(repository)
        shown = published_file(plot) if plot else None
        if shown is None:
            self._pins.unpin(holder)
        else:
            self._pins.pin(holder, *shown, now=utc_now())

    @contextlib.contextmanager
    def _locked(self, repository: str, run: RunRecord) -> Iterator[None]:
        """Hold the repository's dashboard lock for ``run`` (LockWaitStopped after ``lock_seconds``)."""
        if self._locks is None:
            yield
            return
        name = _name(repository)
        deadline = time.monotonic() + self._lock_seconds

        def waited_too_long() -> str | None:
            return "another refresh held the dashboard too long" if time.monotonic() > deadline else None

        self._locks.wait(name, run.id, waited_too_long, poll=0.1)
        try:
            yield
        finally:
            self._locks.release(name, run.id)

    def _champion(self, repository: str, model: str, deciding: list[RunRecord]) -> Champion:
        serving = [d for d in self._deployments.all() if d.repository == repository.lower()
                   and d.model_name == model and d.state != DeploymentState.RETIRED]
        if serving:
            return Champion(model, serving[0].version, serving[0].url, serving[0].target)
        promoted = next((o.version for o in map(_outcome, deciding) if o and o.state == "promoted"), None)
        return Champion(model, promoted)

    def _pulls(self, api: DashboardClient, repository: str, run: RunRecord | None) -> list[OpenPull]:
        pulls = api.open_pulls(Repo.parse(repository))[:PULL_ROWS]
        shown = []
        for pull in pulls:
            number, head = int(pull["number"]), (pull.get("head") or {}).get("sha")
            staged = [r for r in self._runs.list_runs(repository, pr_number=number, kind="staging", limit=20)
                      if run is None or r.id != run.id]
            if run is not None and run.kind == "staging" and run.pr_number == number:
                staged.append(run)  # its verdict, not stored yet
            staged = sorted((r for r in staged if r.head_sha == head and r.result), key=lambda r: -r.id)
            result: dict[str, Any] = staged[0].result or {} if staged else {}
            title = str(pull.get("title") or "")
            shown.append(OpenPull(number, title, result.get("verdict"), result.get("summary")))
        return shown


def _name(repository: str) -> str:
    """The repository's dashboard as a lock name and as a report-pin holder."""
    return f"dashboard:{repository.lower()}"


def _is_dashboard(issue: dict[str, Any]) -> bool:
    """Whether ``issue`` is a bot's (the App's) issue holding the dashboard's marker, not a pull request."""
    by_bot = (issue.get("user") or {}).get("type") == "Bot"
    return by_bot and "pull_request" not in issue and DASHBOARD_MARKER in (issue.get("body") or "")


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
