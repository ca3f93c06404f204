"""Running a pipeline job on a commit's source through the executor, while watching for a
cancel request, and what the run row keeps of its result."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.github import Repo
from bot.github.clients import SourceReader
from bot.runs.outcome import Stop
from bot.runs.source import fetch_source
from bot.store import RunRecord, RunState, RunStore
from pipelines.config import ModelgateConfig
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
        self, api: SourceReader, repo: Repo, run: RunRecord, sha: str, config: ModelgateConfig,
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
