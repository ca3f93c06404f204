"""The staging run of a pull request, from claim to verdict.

1. pending status + in-progress check run at once (when the SHA is known from the webhook);
2. refetch the PR: closed → stop; head moved → superseded; older runs of the PR → superseded;
3. read ``.modelgate.yml`` at the SHA (invalid → failure with every message);
4. fetch the tarball, hand a job to the executor, watch for a cancel request;
5. map the result to a check conclusion and a commit status.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.github import GitHubApp, InstallationAPI, Repo
from bot.publishing import ReportPublisher
from bot.reporter import Report, RunReporter
from bot.store import RunRecord, RunState, RunStore
from bot.verdicts import config_report, crash_report, report_for, stopped_report
from bot.worker import RunOutcome
from bot.workspace import fetch_source
from pipelines.config import CONFIG_FILE, ConfigError, ModelgateConfig, parse_config
from pipelines.executor import Executor, JobState, PipelineJob
from pipelines.result import PipelineResult

log = logging.getLogger(__name__)

ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})
SKIPPED_DRAFT = Report(
    "skipped", "success", "Skipped: draft",
    "Drafts do not run (`run_on_draft: false`); marking the PR ready for review runs staging.",
    "skipped: draft (run_on_draft: false)",
)


@dataclass(frozen=True)
class StagingOptions:
    """Where runs keep their files and log to."""

    workdir: Path
    tracking_uri: str
    poll_seconds: float = 0.5
    public_url: str | None = None


@dataclass(frozen=True)
class _Target:
    """What a run works on: the commit, whether its PR is a draft, the commit's web page."""

    sha: str
    draft: bool
    commit_url: str | None


class _Stop(Exception):
    """The run ends early with ``state`` and, if anything was started on GitHub, ``report``."""

    def __init__(self, state: RunState, reason: str, report: Report | None = None) -> None:
        super().__init__(reason)
        self.state, self.reason = state, reason
        self.report = report or stopped_report(reason, superseded=state == RunState.SUPERSEDED)


class StagingRun:
    """Handles claimed staging runs (a ``RunHandler`` for the worker pool)."""

    def __init__(
        self, github: GitHubApp, runs: RunStore, executor: Executor, options: StagingOptions,
        publisher: ReportPublisher,
    ) -> None:
        self._github, self._runs, self._executor, self._options = github, runs, executor, options
        self._publisher = publisher

    def __call__(self, run: RunRecord) -> RunOutcome:
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        reporter: RunReporter | None = None
        if run.head_sha and not run.details.get("draft"):
            reporter = self._start(api, repo, run, run.head_sha)
        try:
            target = self._resolve(api, repo, run)
            sha, draft = target.sha, target.draft
            if not draft and (reporter is None or reporter.sha != sha):
                reporter = self._start(api, repo, run, sha)
            try:
                config = self._config(api, repo, sha)
            except _Stop:
                reporter = reporter or self._start(api, repo, run, sha)
                raise
            if draft and not config.run_on_draft:
                raise _Stop(RunState.CANCELLED, "draft pull request (run_on_draft: false)", SKIPPED_DRAFT)
            if reporter is None or reporter.sha != sha:
                reporter = self._start(api, repo, run, sha)
            return self._execute(api, repo, run, target, config, reporter)
        except _Stop as stop:
            if reporter is not None:
                reporter.finish(stop.report)
                if stop.state == RunState.FAILED:  # a verdict on the PR (e.g. invalid config)
                    self._publisher.comment(api, repo, run, stop.report.summary)
            return RunOutcome(stop.state, error=stop.reason)
        except Exception as exc:
            if reporter is not None:
                reporter.finish(crash_report(f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            shutil.rmtree(self._run_dir(run), ignore_errors=True)

    def _start(self, api: InstallationAPI, repo: Repo, run: RunRecord, sha: str) -> RunReporter:
        reporter = RunReporter(api, repo, self._runs, run, sha)
        try:
            reporter.start("modelgate is training and evaluating the candidate")
        except Exception as exc:  # e.g. the check run was created but the status failed
            if reporter.check_id is not None:
                with contextlib.suppress(Exception):
                    reporter.finish(crash_report(f"{type(exc).__name__}: {exc}"))
            raise
        return reporter

    def _resolve(self, api: InstallationAPI, repo: Repo, run: RunRecord) -> _Target:
        """The commit to run on and whether the PR is a draft; _Stop if the PR moved on."""
        sha, draft, web = run.head_sha, bool(run.details.get("draft")), None
        if run.pr_number is not None:
            pull = api.get_pull(repo, run.pr_number)
            head = str(pull["head"]["sha"])
            if pull.get("state") != "open":
                raise _Stop(RunState.CANCELLED, f"pull request #{run.pr_number} is closed")
            if sha is not None and sha != head:
                raise _Stop(RunState.SUPERSEDED, f"superseded by {head[:7]}")
            sha, draft = head, bool(pull.get("draft"))
            web = str(((pull.get("base") or {}).get("repo") or {}).get("html_url") or "") or None
            self._supersede_older(run, head)
        if sha is None:
            raise _Stop(RunState.CANCELLED, "no commit to run on")
        return _Target(sha, draft, f"{web}/commit/{sha}" if web else None)

    def _config(self, api: InstallationAPI, repo: Repo, sha: str) -> ModelgateConfig:
        raw = api.get_file(repo, CONFIG_FILE, sha)
        try:
            if raw is None:
                raise ConfigError([f"{CONFIG_FILE}: not found at the repository root"])
            return parse_config(raw.decode("utf-8", errors="replace"))
        except ConfigError as exc:
            raise _Stop(RunState.FAILED, "invalid .modelgate.yml", config_report(exc.messages)) from None

    def _supersede_older(self, run: RunRecord, head: str) -> None:
        superseded, stopping = self._runs.supersede(
            "staging", run.repository, run.pr_number, head, except_run=run.id
        )
        for other in [*superseded, *stopping]:
            if other.id != run.id:
                log.info("run %d superseded by run %d (%s)", other.id, run.id, head[:7])

    def _execute(
        self, api: InstallationAPI, repo: Repo, run: RunRecord, target: _Target, config: ModelgateConfig,
        reporter: RunReporter,
    ) -> RunOutcome:
        sha = target.sha
        source = fetch_source(api, repo, sha, self._run_dir(run) / "src")
        output = self._run_dir(run) / "report"
        job = PipelineJob(
            job_id=f"run-{run.id}-{run.attempts}", repo_dir=source, kind="staging",
            tracking_uri=self._options.tracking_uri, timeout_seconds=float(config.timeout_seconds),
            tags=self._tags(run, sha), use_cache=not run.details.get("force", False), output_dir=output,
        )
        job_id = self._executor.submit(job)
        while self._executor.status(job_id) in ACTIVE:
            reason = self._runs.cancel_reason(run.id)
            if reason:
                self._executor.cancel(job_id)
                state = RunState.SUPERSEDED if reason.startswith("superseded") else RunState.CANCELLED
                raise _Stop(state, reason)
            time.sleep(self._options.poll_seconds)
        result = self._executor.result(job_id)
        report = report_for(result.as_dict(), result.summary_line())
        rendered = self._publisher.render(
            output, self._executor.logs(job_id), target.commit_url, result.mlflow_experiment_id
        )
        reporter.finish(replace(report, text=rendered.check_text) if rendered else report)
        self._publisher.comment(api, repo, run, rendered.comment if rendered else report.summary)
        state = RunState.FAILED if result.status == "error" else RunState.SUCCEEDED
        return RunOutcome(state, result=_stored(result, sha), error=result.error)

    def _tags(self, run: RunRecord, sha: str) -> dict[str, str]:
        tags = {"modelgate.repository": run.repository, "modelgate.sha": sha,
                "modelgate.kind": run.kind, "modelgate.trigger": run.trigger,
                "modelgate.run_id": str(run.id)}
        if run.pr_number is not None:
            tags["modelgate.pr"] = str(run.pr_number)
        return tags

    def _run_dir(self, run: RunRecord) -> Path:
        return self._options.workdir / f"run-{run.id}"


def _stored(result: PipelineResult, sha: str) -> dict[str, Any]:
    """What the run row keeps of a result (no log tail: it lives in the check run)."""
    data = result.as_dict()
    data.pop("log_tail", None)
    return {"sha": sha, "verdict": result.status, "summary": result.summary_line(), **data}
