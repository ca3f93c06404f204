"""One pipeline run, on the trusted side: config → the repository's environment → the job (isolated)
→ champion files (their model size measured, and, when the champion was saved in other packages, its
predictions made by a job in its own environment) → cache → the candidate's model size → gates → plots
and report → MLflow.

The repository's code runs only inside the job (``pipelines.job``, started by ``JobProcess``); this
side reads what the job wrote as plain data, never unpickles it, and is the only one that talks to
MLflow. Every failure becomes an error ``PipelineResult`` with its ``error_kind``; nothing raises out
of ``run_pipeline`` for problems of the repository under test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipelines.champion_job import champion_in_own_runtime
from pipelines.checkout import StepError
from pipelines.fingerprint import code_fingerprint
from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.job_placement import start_job
from pipelines.job_process import JobPolicy
from pipelines.masking import Masker
from pipelines.model_files import copy_model_files
from pipelines.model_size import saved_model_mb, with_model_size
from pipelines.progress import PROGRESS_FILE, ProgressFile, ProgressRelay
from pipelines.result import PipelineResult
from pipelines.runtimes import JobRuntime, default_runtime, repository_runtime
from pipelines.stepping import LogTail, Steps
from pipelines.warm_job import job_folders

__all__ = ["StepError", "run_pipeline", "write_error_report"]

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_SECONDS = 3600.0


def run_pipeline(
    repo_dir: Path,
    kind: str,
    tracking_uri: str,
    tags: Mapping[str, str] | None = None,
    use_cache: bool = True,
    output_dir: Path | None = None,
    policy: JobPolicy | None = None,
    timeout_seconds: float | None = None,
    progress: Path | None = None,
) -> PipelineResult:
    """Run the ``kind`` ("staging"/"production") pipeline of the repository checked out at ``repo_dir``.

    The repository's code runs in a job isolated as ``policy`` says (bubblewrap by default). With
    ``output_dir``, the report (report.md, PNGs, report.json) is written there, for errors too. With
    ``progress``, step events are appended to that file as the run goes (``pipelines.progress``).
    """
    if kind not in ("staging", "production"):
        raise ValueError(f"kind must be 'staging' or 'production' (got {kind!r})")
    output = None if output_dir is None else Path(output_dir).resolve()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="modelgate-job-") as scratch, LogTail().attached() as tail:
        pipeline = _Pipeline(Path(repo_dir).resolve(), kind, tracking_uri, dict(tags or {}), use_cache,
                             output, policy or JobPolicy(), Path(scratch), timeout_seconds,
                             None if progress is None else ProgressFile(progress))
        try:
            result = pipeline.run()
        except StepError as exc:
            log.error("%s pipeline stopped (%s): %s", kind, exc.kind, exc.message)
            result = PipelineResult.failure(
                kind, exc.kind, exc.message, [*tail.lines, *exc.tail],
                model_name=pipeline.model_name, cache_key=pipeline.cache_key,
            )
            if output is not None:
                result = write_error_report(result, output, pipeline.tags, pipeline.task)
    durations = {**pipeline.steps.durations, "total": round(time.perf_counter() - started, 3)}
    return replace(result, durations=durations)


class _Pipeline:
    """The state of one run; each method is one step."""

    def __init__(
        self, repo_dir: Path, kind: str, tracking_uri: str, tags: dict[str, str], use_cache: bool,
        output_dir: Path | None, policy: JobPolicy, scratch: Path, timeout_seconds: float | None,
        progress: ProgressFile | None = None,
    ) -> None:
        self.repo_dir, self.kind, self.tracking_uri = repo_dir, kind, tracking_uri
        self.tags, self.use_cache, self.output_dir = tags, use_cache, output_dir
        self.policy, self.scratch = policy, scratch
        self.timeout_seconds = timeout_seconds or DEFAULT_TIMEOUT_SECONDS
        self.progress = progress
        self.steps = Steps(progress)
        self.model_name: str | None = None
        self.task: str | None = None
        self.cache_key: str | None = None
        self.code_fingerprint = ""
        self.runtime: JobRuntime = default_runtime()
        self.champion_mb: float | None = None  # measured on its files before a champion job replaces them

    def run(self) -> PipelineResult:
        from pipelines.tracking import Tracker
        from pipelines.tracking_store import prepare_tracking_store

        step = self.steps.step
        with step("config", "config"):
            config = self._config()
        with step("fingerprint", "crash"):  # before the job runs: it can write its checkout
            self.code_fingerprint = code_fingerprint(self.repo_dir)
        with contextlib.ExitStack() as held:  # the environment stays (not evicted) while jobs use it
            with step("environment", "environment"):
                self.runtime = held.enter_context(repository_runtime(self.repo_dir, config.environment,
                                                                     self.policy))
            log.info("environment: %s", self.runtime.description)
            # the champion folder is mounted read-only; filled while the job loads its data and trains
            warm, repo, output, champion_dir = job_folders(held, self.policy, self.runtime, self.repo_dir,
                                                           self.scratch)
            spec = JobSpec(repo, self.kind, output, champion_dir)
            job = start_job(spec, self.policy, self.scratch, self.timeout_seconds, self.runtime, self.tags,
                            warm)
            held.callback(job.kill)
            if self.progress is not None:  # the job's own steps (data, train, evaluate…) as they end
                held.callback(ProgressRelay(output / PROGRESS_FILE, self.progress).start().stop)
            with step("job", "crash"):
                with step("champion files", "crash"):
                    prepare_tracking_store(self.tracking_uri)  # under its lock: a standby may open it too
                    tracker = Tracker(self.tracking_uri)
                    version = tracker.champion_version(config.model.name)
                    usable, champion_error = self._champion_files(tracker, config.model.name, version,
                                                                  champion_dir)
                if usable:
                    with step("champion environment", "crash"):
                        usable, champion_error = champion_in_own_runtime(
                            repo, self.kind, champion_dir, self.runtime, self.policy, self.scratch,
                            self.timeout_seconds)
                reused = self._cached_or_none(job, tracker, config.config_hash(), version, usable)
                if reused is not None:
                    return reused
                code = job.wait()
        with step("results", "crash"):
            evaluation, arrays, model_dir, sample = self._job_files(output, code, list(job.tail), job.mask)
        return self._judge_and_log(tracker, config, version, champion_error, evaluation, arrays, model_dir,
                                   sample)

    def _config(self) -> Any:
        from pipelines.config import ConfigError, load_config

        try:
            config = load_config(self.repo_dir)
        except ConfigError as exc:
            raise StepError("config", "; ".join(exc.messages)) from exc
        self.model_name, self.task = config.model.name, config.model.task
        log.info("config: model %s (%s), metrics %s", config.model.name, config.model.task,
                 ", ".join(config.metric_names()))
        return config

    def _champion_files(
        self, tracker: Any, model_name: str, version: int | None, folder: Path
    ) -> tuple[bool, str | None]:
        """Copy the champion's files into ``folder`` for the job to read (its model size measured);
        (usable, why not)."""
        if version is None:
            return False, None
        try:
            copy_model_files(f"models:/{model_name}/{version}", self.tracking_uri, folder)
            self.champion_mb = saved_model_mb(folder)
            return True, None
        except Exception as exc:
            reason = f"champion version {version} could not be fetched: {type(exc).__name__}: {exc}"
            log.warning("%s; judging by absolute gates alone", reason)
            return False, " ".join(reason.split())

    def _cached_or_none(
        self, job: Any, tracker: Any, config_hash: str, version: int | None, usable: bool
    ) -> Any:
        """After the job's fingerprint: the reused earlier result (the job is told to stop) or None
        (the job goes on, told which champion version its files are, if any)."""
        fingerprint = job.fingerprint()
        if fingerprint is None:
            return None  # the job ended before loading data: its error.json says why
        with self.steps.step("cache", "crash"):
            self.cache_key = self._cache_key(fingerprint.data, config_hash, version)
            cached = None
            if self.use_cache and self.cache_key:
                cached = tracker.find_cached(self.cache_key, self.tags.get("modelgate.repository", "local"))
            reused = None if cached is None else self._reuse(tracker, PipelineResult.from_dict(cached))
        job.answer(go_on=reused is None, champion_version=version if usable else None)
        return reused

    def _cache_key(self, data: str | None, config_hash: str, version: int | None) -> str | None:
        """Same repository, kind, code, data, config and champion: the same result."""
        if data is None:
            return None
        repository = self.tags.get("modelgate.repository", "local")
        parts = [repository, self.kind, self.code_fingerprint, data, config_hash, str(version or "none"),
                 self.runtime.key or "default"]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def _reuse(self, tracker: Any, earlier: PipelineResult) -> PipelineResult | None:
        """The cached result, with the earlier run's report restored into the output directory.

        None (run again) when a report is wanted but the earlier run stored none.
        """
        from pipelines.reporting import restore_report

        run_id = str(earlier.mlflow_run_id)
        names: list[str] = []
        if self.output_dir is not None:
            names = restore_report(tracker, run_id, self.output_dir, self.tags)
            if not names:
                log.info("cache hit on MLflow run %s, but it stored no report: running again", run_id)
                return None
        log.info("cache hit: reusing MLflow run %s (same inputs)", run_id)
        return replace(earlier, cached_from=run_id, cache_key=self.cache_key, log_tail=[], report_files=names)

    def _job_files(
        self, output: Path, code: int, tail: list[str], mask: Masker
    ) -> tuple[Any, Any, Path, str | None]:
        """What the job wrote, validated; its error (secrets masked) as a StepError of its kind."""
        error = files.read_json(output, files.ERROR_FILE, files.JobError)
        if error is not None:
            self.model_name, self.task = error.model_name or self.model_name, error.task or self.task
            raise StepError(error.error_kind, mask(error.error), mask.lines([*error.log_tail, *tail[-10:]]))
        evaluation = files.read_json(output, files.EVALUATION_FILE, files.JobEvaluation)
        if evaluation is None:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise StepError("crash", f"the job {how} without a result", tail)
        for name, seconds in evaluation.durations.items():  # the job's own steps: data, train, evaluate…
            self.steps.durations.setdefault(name, seconds)
        return evaluation, files.read_arrays(output), files.model_files(output), files.read_sample(output)

    def _judge_and_log(
        self, tracker: Any, config: Any, version: int | None, champion_error: str | None,
        evaluation: files.JobEvaluation, arrays: dict[str, Any], model_dir: Path, sample: str | None,
    ) -> PipelineResult:
        from pipelines.gates import evaluate_gates

        if evaluation.model_name != config.model.name or evaluation.task != config.model.task:
            raise StepError("crash", "the job reported another model or task than the configuration names")
        evaluation = with_model_size(evaluation, saved_model_mb(model_dir), self.champion_mb)
        intervals = evaluation.metric_intervals()
        slices = evaluation.slice_rows()
        from pipelines.bootstrap import ci_bounds

        decision = evaluate_gates(getattr(config.gates, self.kind), evaluation.candidate, evaluation.champion,
                                  evaluation.higher_is_better, intervals=ci_bounds(intervals), slices=slices)
        log.info("gates %s: %d/%d passed", decision.verdict, decision.passed_count, decision.total)
        result = PipelineResult(
            status=str(decision.verdict), kind=self.kind, model_name=config.model.name,
            metrics={"candidate": evaluation.candidate, "champion": evaluation.champion},
            gates=[gate.as_dict() for gate in decision.results], higher_is_better=evaluation.higher_is_better,
            champion_version=version if evaluation.champion is not None else None,
            champion_error=evaluation.champion_error or champion_error, cache_key=self.cache_key,
            durations=dict(self.steps.durations), environment=self.runtime.description,
        )
        with self.steps.step("tracking", "crash"):
            from pipelines.report_evidence import predictions_table, report_analysis

            analysis = report_analysis(config.model.task, arrays, evaluation, intervals, slices,
                                       plots=self.output_dir is not None)
            writer = self._report_writer(tracker, config, analysis)
            tags = {**self.tags, "modelgate.environment": self.runtime.key or "default"}
            result = tracker.log_candidate(
                result, model_dir, config.config_hash(), tags, predictions_table(arrays), report=writer,
                sample=sample, params=evaluation.params, requirements=list(self.runtime.requirements),
                python_version=self.runtime.python_version)
        log.info("logged MLflow run %s", result.mlflow_run_id)
        return result

    def _report_writer(self, tracker: Any, config: Any, analysis: Any) -> Any:
        """The report writer for log_candidate, or None without an output directory."""
        from pipelines.reporting import report_writer

        if self.output_dir is None:
            return None
        first = config.metric_names()[0]
        return report_writer(self.output_dir, self.tags, config.model.task, analysis,
                             lambda: tracker.model_history(config.model.name, first))


def write_error_report(
    result: PipelineResult, output_dir: Path, tags: Mapping[str, str], task: str | None = None
) -> PipelineResult:
    """Write the report of an error result into ``output_dir``; the result with its report files."""
    from pipelines.report_data import report_data
    from pipelines.reporting import write_report_safely

    files_written = write_report_safely(report_data(result, tags, task), output_dir)
    return replace(result, report_files=files_written)
