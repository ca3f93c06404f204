"""One pipeline run, in process: config → data → cache → train → evaluate → champion → analysis
(bootstrap, slices) → gates → MLflow (with the report, when an output directory is given).

Every failure becomes an error ``PipelineResult`` with its ``error_kind``; nothing raises out of
``run_pipeline`` for problems of the repository under test.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipelines.checkout import StepError, import_function, repo_code_by_value, repo_imports
from pipelines.fingerprint import code_fingerprint, data_fingerprint
from pipelines.result import LOG_TAIL_LINES, PipelineResult

__all__ = ["StepError", "import_function", "repo_imports", "run_pipeline"]

log = logging.getLogger(__name__)


class _LogTail(logging.Handler):
    """Keeps the last log lines of a run for error results."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(self.format(record).splitlines())


def run_pipeline(
    repo_dir: Path,
    kind: str,
    tracking_uri: str,
    tags: Mapping[str, str] | None = None,
    use_cache: bool = True,
    output_dir: Path | None = None,
) -> PipelineResult:
    """Run the ``kind`` ("staging"/"production") pipeline of the repository checked out at ``repo_dir``.

    With ``output_dir``, the report (report.md, PNGs, report.json) is written there, for errors too.
    Not thread-safe: it changes sys.path/sys.modules and MLflow's process-wide tracking URI.
    """
    if kind not in ("staging", "production"):
        raise ValueError(f"kind must be 'staging' or 'production' (got {kind!r})")
    tail = _LogTail()
    root = logging.getLogger()
    root.addHandler(tail)
    package_log = logging.getLogger("pipelines")
    if package_log.level == logging.NOTSET:  # progress lines are INFO; keep a level someone chose
        package_log.setLevel(logging.INFO)
    output = None if output_dir is None else Path(output_dir).resolve()
    pipeline = _Pipeline(Path(repo_dir).resolve(), kind, tracking_uri, dict(tags or {}), use_cache, output)
    started = time.perf_counter()
    try:
        with repo_imports(pipeline.repo_dir):
            result = pipeline.run()
    except StepError as exc:
        log.error("%s pipeline stopped (%s): %s", kind, exc.kind, exc.message)
        result = PipelineResult.failure(
            kind, exc.kind, exc.message, [*tail.lines, *exc.tail],
            model_name=pipeline.model_name, cache_key=pipeline.cache_key,
        )
        if output is not None:
            result = write_error_report(result, output, pipeline.tags, pipeline.task)
    finally:
        root.removeHandler(tail)
    durations = {**pipeline.durations, "total": round(time.perf_counter() - started, 3)}
    return replace(result, durations=durations)


class _Pipeline:
    """The state of one run; each method is one step."""

    def __init__(
        self, repo_dir: Path, kind: str, tracking_uri: str, tags: dict[str, str], use_cache: bool,
        output_dir: Path | None,
    ) -> None:
        self.repo_dir, self.kind, self.tracking_uri = repo_dir, kind, tracking_uri
        self.tags, self.use_cache, self.output_dir = tags, use_cache, output_dir
        self.durations: dict[str, float] = {}
        self.model_name: str | None = None
        self.task: str | None = None
        self.cache_key: str | None = None

    def run(self) -> PipelineResult:
        from pipelines.evaluation import evaluate, evaluate_champion, predictions_frame
        from pipelines.gates import evaluate_gates

        with self._step("config", "config"):
            config, metrics = self._config()
        with self._step("data", "data"):
            X_train, y_train, X_eval, y_eval = self._data(getattr(config.data, self.kind))
        with self._step("cache", "crash"):
            from pipelines.tracking import Tracker, sample_rows

            tracker = Tracker(self.tracking_uri)
            version = tracker.champion_version(config.model.name)
            self.cache_key = self._cache_key(config.config_hash(), version, X_train, y_train, X_eval, y_eval)
            cached = tracker.find_cached(self.cache_key) if self.use_cache and self.cache_key else None
        if cached is not None:
            with self._step("restore", "crash"):
                reused = self._reuse(tracker, PipelineResult.from_dict(cached))
            if reused is not None:
                return reused
        with self._step("train", "train"):
            model = self._train(config.model.train, X_train, y_train)
        with self._step("evaluate", "evaluate"):
            candidate = evaluate("candidate", model, metrics, X_eval, y_eval, self.task)
        with self._step("champion", "crash"):
            champion, champion_error = evaluate_champion(
                tracker, config.model.name, version, metrics, X_eval, y_eval, self.task
            )
        with self._step("analysis", "crash"):
            analysis = self._analyse(config, metrics, X_eval, y_eval, candidate, champion)
        higher = {metric.name: metric.higher_is_better for metric in metrics}
        champion_values = None if champion is None else champion.values
        decision = evaluate_gates(getattr(config.gates, self.kind), candidate.values, champion_values, higher,
                                  intervals=analysis.bounds(), slices=analysis.slices)
        log.info("gates %s: %d/%d passed", decision.verdict, decision.passed_count, decision.total)
        result = PipelineResult(
            status=str(decision.verdict), kind=self.kind, model_name=config.model.name,
            metrics={"candidate": candidate.values, "champion": champion_values},
            gates=[gate.as_dict() for gate in decision.results], higher_is_better=higher,
            champion_version=version if champion is not None else None, champion_error=champion_error,
            cache_key=self.cache_key, durations=dict(self.durations),
        )
        with self._step("tracking", "crash"):
            champion_pred = None if champion is None else champion.y_pred
            predictions = predictions_frame(y_eval, candidate.y_pred, champion_pred)
            writer = self._report_writer(tracker, config, analysis)
            with repo_code_by_value(self.repo_dir):
                result = tracker.log_candidate(result, model, config.config_hash(), self.tags, predictions,
                                               report=writer, sample=sample_rows(X_eval))
        log.info("logged MLflow run %s", result.mlflow_run_id)
        return result

    def _reuse(self, tracker: Any, earlier: PipelineResult) -> PipelineResult | None:
        """The cached result, with the earlier run's report restored into the output directory.

        None (run again) when a report is wanted but the earlier run stored none.
        """
        from pipelines.reporting import restore_report

        run_id = str(earlier.mlflow_run_id)
        files: list[str] = []
        if self.output_dir is not None:
            files = restore_report(tracker, run_id, self.output_dir, self.tags)
            if not files:
                log.info("cache hit on MLflow run %s, but it stored no report: running again", run_id)
                return None
        log.info("cache hit: reusing MLflow run %s (same inputs)", run_id)
        return replace(earlier, cached_from=run_id, cache_key=self.cache_key, log_tail=[], report_files=files)

    def _analyse(
        self, config: Any, metrics: list[Any], X_eval: Any, y_eval: Any, candidate: Any, champion: Any
    ) -> Any:
        """Intervals, slices and (with an output directory) plot data; a slice problem is a data error."""
        from pipelines.analysis import analyse
        from pipelines.slices import SliceError

        try:
            return analyse(config, metrics, X_eval, y_eval, candidate, champion, import_function,
                           plots=self.output_dir is not None)
        except SliceError as exc:
            raise StepError("data", str(exc)) from exc

    def _report_writer(self, tracker: Any, config: Any, analysis: Any) -> Any:
        """The report writer for log_candidate, or None without an output directory."""
        from pipelines.reporting import report_writer

        if self.output_dir is None:
            return None
        first = config.metric_names()[0]
        return report_writer(self.output_dir, self.tags, config.model.task, analysis,
                             lambda: tracker.model_history(config.model.name, first))

    @contextmanager
    def _step(self, name: str, error_kind: str) -> Iterator[None]:
        """Time a step; unexpected exceptions become StepError(error_kind) with the traceback's tail."""
        log.info("step %s: start", name)
        started = time.perf_counter()
        try:
            yield
        except StepError:
            raise
        except Exception as exc:
            lines = "".join(traceback.format_exception(exc)).splitlines()
            raise StepError(error_kind, f"{name} failed: {type(exc).__name__}: {exc}", lines) from exc
        finally:
            self.durations[name] = round(time.perf_counter() - started, 3)

    def _config(self) -> tuple[Any, list[Any]]:
        from pipelines.config import ConfigError, load_config
        from pipelines.metrics import MetricError, resolve_metrics

        try:
            config = load_config(self.repo_dir)
            self.model_name, self.task = config.model.name, config.model.task
            metrics = resolve_metrics(config, import_function)
        except ConfigError as exc:
            raise StepError("config", "; ".join(exc.messages)) from exc
        except MetricError as exc:
            raise StepError("config", str(exc)) from exc
        names = ", ".join(config.metric_names())
        log.info("config: model %s (%s), metrics %s", config.model.name, config.model.task, names)
        return config, metrics

    def _data(self, ref: str) -> tuple[Any, Any, Any, Any]:
        loaded = import_function(ref)()
        if not isinstance(loaded, tuple | list) or len(loaded) != 4:
            got = type(loaded).__name__
            raise StepError("data", f"{ref} returned {got}, expected (X_train, y_train, X_eval, y_eval)")
        X_train, y_train, X_eval, y_eval = loaded
        for part, X, y in (("train", X_train, y_train), ("eval", X_eval, y_eval)):
            rows, labels = _rows(X), _rows(y)
            if rows != labels:
                raise StepError("data", f"{ref}: X_{part} has {rows} rows but y_{part} has {labels}")
            if rows == 0:
                raise StepError("data", f"{ref}: X_{part} has no rows")
        log.info("data: %d training rows, %d evaluation rows", _rows(X_train), _rows(X_eval))
        return X_train, y_train, X_eval, y_eval

    def _cache_key(self, config_hash: str, version: int | None, *arrays: Any) -> str | None:
        try:
            data = data_fingerprint(*arrays)
        except Exception as exc:  # unusual containers: run without the cache rather than fail
            log.warning("data cannot be fingerprinted (%s: %s); result cache off", type(exc).__name__, exc)
            return None
        parts = [self.kind, code_fingerprint(self.repo_dir), data, config_hash, str(version or "none")]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def _train(self, ref: str, X_train: Any, y_train: Any) -> Any:
        model = import_function(ref)(X_train, y_train)
        if not callable(getattr(model, "predict", None)):
            raise StepError("train", f"{ref} returned {type(model).__name__}, which has no predict()")
        log.info("train: fitted %s", type(model).__name__)
        return model


def write_error_report(
    result: PipelineResult, output_dir: Path, tags: Mapping[str, str], task: str | None = None
) -> PipelineResult:
    """Write the report of an error result into ``output_dir``; the result with its report files."""
    from pipelines.report_data import report_data
    from pipelines.reporting import write_report_safely

    files = write_report_safely(report_data(result, tags, task), output_dir)
    return replace(result, report_files=files)


def _rows(data: Any) -> int:
    shape = getattr(data, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(data)
    except TypeError as exc:
        raise StepError("data", f"expected arrays or data frames, got {type(data).__name__}") from exc
