"""Dispatch claimed runs to their kind's handler, and close out runs nobody can finish."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.github import GitHubApp, Repo
from bot.reporter import Report, RunReporter
from bot.store import RunRecord, RunState, RunStore
from bot.worker import RunHandler, RunOutcome

log = logging.getLogger(__name__)


class RecordOnly:
    """For kinds whose pipeline this build lacks: the run is recorded, its check run neutral."""

    def __init__(self, github: GitHubApp, runs: RunStore) -> None:
        self._github, self._runs = github, runs

    def __call__(self, run: RunRecord) -> RunOutcome:
        if run.head_sha is None:
            return RunOutcome(RunState.CANCELLED, error="no commit to report on")
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        reporter = RunReporter(api, repo, self._runs, run, run.head_sha)
        reporter.start(f"{run.kind} run {run.id} recorded")
        summary = (f"modelgate received `{run.trigger}` for `{run.head_sha[:7]}` and recorded run "
                   f"{run.id}. This build has no {run.kind} pipeline, so nothing was trained.")
        reporter.finish(Report("neutral", "success", f"{run.kind} run {run.id} recorded", summary,
                               f"recorded; no {run.kind} pipeline in this build"))
        return RunOutcome(RunState.SUCCEEDED, result={"sha": run.head_sha, "verdict": "recorded"})


class RunProcessor:
    """The worker pool's handler: one handler per run kind."""

    def __init__(self, github: GitHubApp, runs: RunStore, handlers: Mapping[str, RunHandler]) -> None:
        self._github, self._runs = github, runs
        self._handlers = dict(handlers)

    def __call__(self, run: RunRecord) -> RunOutcome:
        handler = self._handlers.get(run.kind)
        if handler is None:
            return RunOutcome(RunState.FAILED, error=f"no handler for {run.kind} runs")
        return handler(run)

    def report_abandoned(self, run: RunRecord) -> None:
        """Close the check run of a run whose worker died for good, so nothing stays pending."""
        check_id = run.github_refs.get("check_run_id")
        sha = run.github_refs.get("sha") or run.head_sha
        if check_id is None or sha is None:
            return
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        message = run.error or "the worker processing this run stopped responding"
        reporter = RunReporter(api, repo, self._runs, run, sha)
        reporter.check_id = int(check_id)
        reporter.finish(Report("failure", "error", "modelgate run abandoned", message, message))
