"""Steps shared by the staging and production handlers: reading ``.modelgate.yml`` at a commit,
and running a pipeline job on a commit's source while watching for a cancel request."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.github import InstallationAPI, Repo
from bot.reporter import Report, RunReporter
from bot.store import RunRecord, RunState, RunStore
from bot.verdicts import config_report, crash_report, stopped_report
from bot.workspace import fetch_source
from pipelines.config import CONFIG_FILE, ConfigError, ModelgateConfig, parse_config
from pipelines.executor import Executor, JobState, PipelineJob
from pipelines.result import PipelineResult

ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})


@dataclass(frozen=True)
class RunOptions:
    """Where runs keep their files and log to."""

    workdir: Path
    tracking_uri: str
    poll_seconds: float = 0.5
    public_url: str | None = None


class Stop(Exception):
    """The run ends early with ``state`` and, if anything was started on GitHub, ``report``."""

    def __init__(self, state: RunState, reason: str, report: Report | None = None) -> None:
        super().__init__(reason)
        self.state, self.reason = state, reason
        self.report = report or stopped_report(reason, superseded=state == RunState.SUPERSEDED)


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


def read_config(api: InstallationAPI, repo: Repo, sha: str) -> ModelgateConfig:
    """``.modelgate.yml`` at ``sha``; Stop(FAILED) with every message when missing or invalid."""
    raw = api.get_file(repo, CONFIG_FILE, sha)
    try:
        if raw is None:
            raise ConfigError([f"{CONFIG_FILE}: not found at the repository root"])
        return parse_config(raw.decode("utf-8", errors="replace"))
    except ConfigError as exc:
        raise Stop(RunState.FAILED, "invalid .modelgate.yml", config_report(exc.messages)) from None


def rules_config(api: InstallationAPI, repo: Repo, default_branch: str | None) -> ModelgateConfig | None:
    """``.modelgate.yml`` on the default branch, where the rules a PR must not change (who may run
    commands, whose code waits for approval) come from; None when missing or invalid there."""
    if not default_branch:
        return None
    try:
        return read_config(api, repo, default_branch)
    except Stop:
        return None


@dataclass(frozen=True)
class Finished:
    """A pipeline job that ran to a result: the result, its log, report folder and checkout."""

    result: PipelineResult
    log: str
    output_dir: Path
    source: Path


class PipelineRunner:
    """Fetches a commit's source and runs one pipeline job on it through the executor."""

    def __init__(self, runs: RunStore, executor: Executor, options: RunOptions) -> None:
        self._runs, self._executor, self.options = runs, executor, options

    def run_dir(self, run: RunRecord) -> Path:
        """The run's scratch folder (source and report); the handler removes it at the end."""
        return self.options.workdir / f"run-{run.id}"

    def execute(
        self, api: InstallationAPI, repo: Repo, run: RunRecord, sha: str, config: ModelgateConfig,
        *, use_cache: bool = True,
    ) -> Finished:
        """Run the ``run.kind`` pipeline on ``sha``; Stop when someone asks the run to stop."""
        source = fetch_source(api, repo, sha, self.run_dir(run) / "src")
        output = self.run_dir(run) / "report"
        job = PipelineJob(
            job_id=f"run-{run.id}-{run.attempts}", repo_dir=source, kind=run.kind,
            tracking_uri=self.options.tracking_uri, timeout_seconds=float(config.timeout_seconds),
            tags=run_tags(run, sha), use_cache=use_cache, output_dir=output,
        )
        job_id = self._executor.submit(job)
        while self._executor.status(job_id) in ACTIVE:
            reason = self._runs.cancel_reason(run.id)
            if reason:
                self._executor.cancel(job_id)
                state = RunState.SUPERSEDED if reason.startswith("superseded") else RunState.CANCELLED
                raise Stop(state, reason)
            time.sleep(self.options.poll_seconds)
        result = self._executor.result(job_id)
        return Finished(result, self._executor.logs(job_id), output, source)


def commit_url(pull: dict[str, Any], sha: str) -> str | None:
    """The web page of ``sha`` in the PR's base repository (None without a PR)."""
    web = ((pull.get("base") or {}).get("repo") or {}).get("html_url")
    return f"{web}/commit/{sha}" if web else None


def run_tags(run: RunRecord, sha: str) -> dict[str, str]:
    """MLflow tags tying a pipeline run to the repository, commit, PR and modelgate run."""
    tags = {"modelgate.repository": run.repository, "modelgate.sha": sha,
            "modelgate.kind": run.kind, "modelgate.trigger": run.trigger,
            "modelgate.run_id": str(run.id)}
    if run.pr_number is not None:
        tags["modelgate.pr"] = str(run.pr_number)
    return tags


def stored_result(result: PipelineResult, sha: str, **extra: Any) -> dict[str, Any]:
    """What the run row keeps of a result (no log tail: it lives in the check run)."""
    data = result.as_dict()
    data.pop("log_tail", None)
    return {"sha": sha, "verdict": result.status, "summary": result.summary_line(), **data, **extra}
