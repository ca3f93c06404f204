"""Running a pipeline job on a commit's source through the executor, while watching for a
cancel request, and what the run row keeps of its result."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.github import Repo
from bot.github.clients import SourceReader
from bot.runs.job_secrets import JobSecretsError, job_environment
from bot.runs.outcome import Stop
from bot.runs.progress import PROGRESS_INTERVAL_SECONDS, ProgressThrottle
from bot.runs.retry import RETRYABLE_ERRORS, Retry
from bot.runs.source import DEFAULT_LIMITS, SourceLimits, fetch_source
from bot.store import RunRecord, RunState, RunStore, ScheduledJob
from pipelines.config import ModelgateConfig
from pipelines.deploy import DeployError
from pipelines.executor import Executor, JobState, PipelineJob
from pipelines.job_process import JobPolicy
from pipelines.masking import Masker
from pipelines.progress import ShownStep, StepEvent, shown_steps
from pipelines.result import PipelineResult
from pipelines.sandbox import Isolation
from pipelines.tracking import ARTIFACTS_VARIABLE

if TYPE_CHECKING:
    from pipelines.ray_serve.deployer import RayServeTarget

TRIGGER_VARIABLE = "MODELGATE_TRIGGER"
SCHEDULED_AT_VARIABLE = "MODELGATE_SCHEDULED_AT"
ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})
# the App's variables a pipeline process inherits: the credentials of S3, Azure and GCS clients (MLflow's
# artifact store, MODELGATE_RAY_STORAGE), and fsspec's own configuration
STORAGE_VARIABLE_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "FSSPEC_", "MLFLOW_S3_", "MLFLOW_GCS_")
ProgressCallback = Callable[[Sequence[ShownStep]], bool]  # True: the steps reached GitHub
UNISOLATED_WARNING = (
    "> [!WARNING]\n> This run was **not isolated** (`MODELGATE_ISOLATION=none`): the repository's code ran "
    "with the App's own access to its files and network. Install bubblewrap and use the default."
)


@dataclass(frozen=True)
class RunOptions:
    """Where runs keep their files and log to."""

    workdir: Path
    tracking_uri: str
    poll_seconds: float = 0.5  # how often a running job's cancel requests and progress are looked at
    public_url: str | None = None
    policy: JobPolicy = field(default_factory=JobPolicy)
    max_timeout_seconds: float = 3600.0
    job_env_dir: Path | None = None
    progress_seconds: float = PROGRESS_INTERVAL_SECONDS  # live progress: at most one update this often
    source_limits: SourceLimits = DEFAULT_LIMITS
    mlflow_artifacts: str | None = None  # where new experiments keep artifacts (None: beside a SQLite store)
    ray_serve: RayServeTarget | None = None  # the cluster that serves deploy kind ray-serve


@dataclass(frozen=True)
class Finished:
    """A pipeline job that ran to a result: the result, its log, report folder and checkout."""

    result: PipelineResult
    log: str
    output_dir: Path
    source: Path
    isolated: bool = True
    steps: tuple[ShownStep, ...] = ()  # each step's final state and time, for the check run

    def check_text(self, text: str | None) -> str | None:
        """The check run's text, with a warning first when the job ran without isolation."""
        if self.isolated:
            return text
        return UNISOLATED_WARNING + ("\n\n" + text if text else "")


class PipelineRunner:
    """Fetches a commit's source and runs one pipeline job on it through the executor."""

    def __init__(self, runs: RunStore, executor: Executor, options: RunOptions) -> None:
        self._runs, self._executor, self.options = runs, executor, options

    def run_dir(self, run: RunRecord) -> Path:
        """The run's scratch folder (source and report); the handler removes it at the end."""
        return self.options.workdir / f"run-{run.id}"

    def execute(
        self, api: SourceReader, repo: Repo, run: RunRecord, sha: str, config: ModelgateConfig,
        *, use_cache: bool = True, from_fork: bool = False, on_progress: ProgressCallback | None = None,
    ) -> Finished:
        """Run the ``run.kind`` pipeline on ``sha``; Stop when someone asks the run to stop.

        The repository's job secrets reach runs of its own branches only, never a fork's; what the
        run publishes (log, error, log tail) has them masked. ``on_progress`` gets the steps so far when
        one ended (``ProgressThrottle``: at most every 2 s).
        """
        started = time.perf_counter()
        source = fetch_source(api, repo, sha, self.run_dir(run) / "src", self.options.source_limits)
        fetched = StepEvent("fetch", "done", round(time.perf_counter() - started, 3))
        output = self.run_dir(run) / "report"
        try:
            secrets = job_environment(self.options.job_env_dir, run.repository, from_fork)
        except JobSecretsError as exc:
            failed = PipelineResult.failure(pipeline_kind(run), "secrets", str(exc))  # the operator's file
            return Finished(failed, "", output, source)
        timeout = min(float(config.timeout_seconds), self.options.max_timeout_seconds)
        scope = environment_scope(run.repository, run.pr_number, from_fork)
        job = PipelineJob(
            job_id=f"run-{run.id}-{run.attempts}", repo_dir=source, kind=pipeline_kind(run),
            tracking_uri=self.options.tracking_uri, timeout_seconds=timeout,
            tags=run_tags(run, sha), use_cache=use_cache and run.kind != "scheduled", output_dir=output,
            policy=replace(self.options.policy, env=secrets, scope=scope, context=job_context(run)),
            env=pipeline_environment(self.options),
        )
        job_id = self._executor.submit(job)
        throttle = ProgressThrottle(self.options.progress_seconds)
        while self._executor.status(job_id) in ACTIVE:
            reason = self._runs.cancel_reason(run.id)
            if reason:
                self._executor.cancel(job_id)
                state = RunState.SUPERSEDED if reason.startswith("superseded") else RunState.CANCELLED
                raise Stop(state, reason)
            if on_progress is not None:
                steps = shown_steps([fetched, *self._executor.progress(job_id)])
                if throttle.due(steps) and on_progress(steps):
                    throttle.sent(steps)
            with contextlib.suppress(TimeoutError):  # back at once when the job ends
                self._executor.result(job_id, timeout=self.options.poll_seconds)
        reported = self._executor.progress(job_id)  # none: the pipeline said nothing, so no table either
        steps = shown_steps([fetched, *reported], finished=True) if reported else []
        mask = Masker(secrets.values())  # the job process masks already; this covers what it did not see
        result = masked_result(self._executor.result(job_id), mask)
        if result.error_kind in RETRYABLE_ERRORS:  # its job vanished: run it again, within the attempts
            raise Retry(result.error_kind, result.error or result.error_kind)
        mask_text_files(output, mask)
        isolated = self.options.policy.isolation != Isolation.NONE
        return Finished(result, mask(self._executor.logs(job_id)), output, source, isolated, tuple(steps))


def pipeline_kind(run: RunRecord) -> str:
    """The pipeline a run runs: a scheduled run runs production's (fresh production data, promotion)."""
    return "production" if run.kind == "scheduled" else run.kind


def job_context(run: RunRecord) -> dict[str, str]:
    """What the repository's data functions may know of their run: ``MODELGATE_TRIGGER`` (``schedule`` for
    scheduled runs, else ``staging`` or ``production``) and, for scheduled runs, ``MODELGATE_SCHEDULED_AT``
    (the UTC time the run stands for: its schedule's slot, or when someone asked for it)."""
    if run.kind != "scheduled":
        return {TRIGGER_VARIABLE: run.kind}
    job = run.job_as(ScheduledJob)
    at = job.fire_at or run.created_at
    return {TRIGGER_VARIABLE: "schedule",
            SCHEDULED_AT_VARIABLE: at.astimezone(UTC).isoformat(timespec="seconds")}


def environment_scope(repository: str, pr_number: int | None, from_fork: bool) -> str:
    """Whose code a run's environment is built from: a fork PR's environments are its own, never
    reused by the repository's branches (nor by another PR)."""
    return f"fork:{repository}#{pr_number}" if from_fork else "base"


def pipeline_environment(options: RunOptions, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """What the (trusted) pipeline process gets besides the tracking URI: the artifact root, and the
    App's cloud storage credentials (``STORAGE_VARIABLE_PREFIXES``) for MLflow's artifacts and the Ray
    storage. Its job gets none of them: a job's environment is built from nothing."""
    inherited = {name: value for name, value in environ.items() if name.startswith(STORAGE_VARIABLE_PREFIXES)}
    if options.mlflow_artifacts:
        inherited[ARTIFACTS_VARIABLE] = options.mlflow_artifacts
    return inherited


def run_tags(run: RunRecord, sha: str) -> dict[str, str]:
    """MLflow tags tying a pipeline run to the repository, commit, PR and modelgate run."""
    tags = {"modelgate.repository": run.repository, "modelgate.sha": sha,
            "modelgate.kind": run.kind, "modelgate.trigger": run.trigger,
            "modelgate.run_id": str(run.id)}
    if run.pr_number is not None:
        tags["modelgate.pr"] = str(run.pr_number)
    return tags


def repository_policy(options: RunOptions, repository: str) -> JobPolicy:
    """What the repository's deploy commands and scoring servers get: the jobs' policy with the
    repository's job secrets (its own default branch: never a fork's run)."""
    try:
        secrets = job_environment(options.job_env_dir, repository, from_fork=False)
    except JobSecretsError as exc:
        raise DeployError(str(exc)) from exc
    return replace(options.policy, env=secrets)


def mask_text_files(folder: Path, mask: Masker, suffixes: tuple[str, ...] = (".json", ".md", ".txt")) -> None:
    """Mask the secrets in the report's text files (regular files only; links are not followed)."""
    if not mask.values or not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.suffix in suffixes and path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="replace")
            masked = mask(text)
            if masked != text:
                path.write_text(masked, encoding="utf-8")


def masked_result(result: PipelineResult, mask: Masker) -> PipelineResult:
    """``result`` with every secret value in its error and log tail replaced by ``***``."""
    if not mask.values:
        return result
    error = None if result.error is None else mask(result.error)
    return replace(result, error=error, log_tail=mask.lines(result.log_tail))


def stored_result(result: PipelineResult, sha: str, **extra: Any) -> dict[str, Any]:
    """What the run row keeps of a result (no log tail: it lives in the check run)."""
    data = result.as_dict()
    data.pop("log_tail", None)
    return {"sha": sha, "verdict": result.status, "summary": result.summary_line(), **data, **extra}
