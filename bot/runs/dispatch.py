"""Dispatch claimed runs to their kind's handler, and close out runs nobody can finish."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.feedback.check_run import RunReporter
from bot.feedback.messages import abandoned
from bot.github import Repo
from bot.github.clients import CheckWriter, ClientFactory
from bot.runs.outcome import RunHandler, RunOutcome
from bot.store import RunRecord, RunState, RunStore

log = logging.getLogger(__name__)


class RunProcessor:
    """The worker pool's handler: one handler per run kind."""

    def __init__(
        self, github: ClientFactory[CheckWriter], runs: RunStore, handlers: Mapping[str, RunHandler]
    ) -> None:
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
        reporter.finish(abandoned(message))
