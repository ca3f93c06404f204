"""A run's check run and commit status on GitHub, kept in step.

``start`` puts both in progress (the check run is created once per run and SHA, remembered
in the run's ``github_refs``); ``finish`` completes both (creating the check run already
completed when nothing was started). Whatever happens to a run, the processor calls ``finish``
exactly once after ``start``, so nothing stays pending. Staging check runs offer the "Retrain"
button (GitHub keeps a check run's actions per update, so every write sends them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from bot.feedback.check_report import CheckReport
from bot.feedback.messages import crash_report, progress_summary
from bot.feedback.names import CHECK_NAME, RETRAIN_ACTION, STATUS_CONTEXT
from bot.github import Repo
from bot.github.clients import CheckWriter
from bot.store import RunRecord, RunStore
from pipelines.progress import ShownStep

log = logging.getLogger(__name__)
TITLE_LIMIT = 255
ACTIONS = {"staging": [RETRAIN_ACTION]}


def external_id(run: RunRecord) -> str:
    """The check run's ``external_id``: ties a GitHub check run to one of our runs."""
    return f"modelgate-run-{run.id}"


class RunReporter:
    """The check run and commit status of one run on one SHA."""

    def __init__(
        self, api: CheckWriter, repo: Repo, runs: RunStore, run: RunRecord, sha: str,
        details_url: str | None = None,
    ) -> None:
        self.api, self.repo, self.runs, self.run, self.sha = api, repo, runs, run, sha
        self.details_url = details_url
        self.check_id: int | None = None

    @property
    def context(self) -> str:
        """The commit status context, e.g. ``modelgate/staging``."""
        return STATUS_CONTEXT[self.run.kind]

    def start(self, description: str) -> None:
        """Check run ``in_progress`` and commit status ``pending``."""
        self._write_check({"status": "in_progress",
                           "output": {"title": description, "summary": description}})
        self.api.set_status(self.repo, self.sha, state="pending", context=self.context,
                            description=description, target_url=self.details_url)

    def queue(self, description: str) -> None:
        """Commit status ``pending`` (what branch protection shows: first) and check run ``queued`` (at
        intake, before any worker has the run)."""
        self.api.set_status(self.repo, self.sha, state="pending", context=self.context,
                            description=description, target_url=self.details_url)
        self._write_check({"status": "queued", "output": {"title": description, "summary": description}})

    def progress(self, description: str, steps: Sequence[ShownStep]) -> bool:
        """Best effort, while the run goes on: the open check run's summary shows ``steps`` so far. Nothing
        is sent (False) when no check run is open, the content limits have no room right now (the verdicts
        must not wait behind progress), or GitHub refused."""
        if self.check_id is None or not self.api.has_content_room():
            return False
        summary = progress_summary(description, steps)
        try:
            self._write_check({"status": "in_progress",
                               "output": {"title": description[:TITLE_LIMIT], "summary": summary}})
        except Exception as exc:  # the next update or the verdict will try again
            log.warning("progress of run %d not shown: %s: %s", self.run.id, type(exc).__name__, exc)
            return False
        return True

    def finish(self, report: CheckReport) -> None:
        """Complete the check run (creating it if none was started) and set the final status."""
        output = {"title": report.title[:TITLE_LIMIT], "summary": report.summary}
        if report.text:
            output["text"] = report.text
        self._write_check({"status": "completed", "conclusion": report.conclusion, "output": output})
        self.api.set_status(self.repo, self.sha, state=report.status, context=self.context,
                            description=report.description, target_url=self.details_url)

    def _write_check(self, fields: dict[str, Any]) -> None:
        """Update this run's check run on the SHA, or create it (once per run and SHA)."""
        fields = dict(fields)
        if self.details_url:
            fields["details_url"] = self.details_url
        if self.run.kind in ACTIONS:
            fields["actions"] = [dict(a) for a in ACTIONS[self.run.kind]]
        refs = self.run.github_refs
        if self.check_id is None and refs.get("check_run_id") is not None and refs.get("sha") == self.sha:
            self.check_id = int(refs["check_run_id"])
        if self.check_id is not None:
            self.api.update_check_run(self.repo, self.check_id, **fields)
            return
        self.check_id = self.api.create_check_run(
            self.repo, name=CHECK_NAME[self.run.kind], head_sha=self.sha,
            external_id=external_id(self.run), **fields,
        )
        self.runs.remember_all(self.run.id, {"sha": self.sha, "check_run_id": self.check_id})


def start_reporter(reporter: RunReporter, description: str) -> RunReporter:
    """Put the run's check run and status in progress; if that half-fails, close what was opened."""
    try:
        reporter.start(description)
    except Exception as exc:  # e.g. the check run was created but the status failed
        if reporter.check_id is not None:
            with contextlib.suppress(Exception):
                reporter.finish(crash_report(f"{type(exc).__name__}: {exc}"))
        raise
    return reporter
