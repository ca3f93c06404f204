"""One pipeline run, in process: config → data → cache → train → evaluate → champion → gates → MLflow.

Every failure becomes an error ``PipelineResult`` with its ``error_kind``; nothing raises out of
``run_pipeline`` for problems of the repository under test.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from pipelines.fingerprint import code_fingerprint, data_fingerprint
from pipelines.result import LOG_TAIL_LINES, PipelineResult

log = logging.getLogger(__name__)


class StepError(Exception):
    """A step failed: ``kind`` is the result's error_kind, ``tail`` extra log lines (a traceback)."""

    def __init__(self, kind: str, message: str, tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.tail = kind, message, tail or []


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
) -> PipelineResult:
    """Run the ``kind`` ("staging"/"production") pipeline of the repository checked out at ``repo_dir``.

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
    pipeline = _Pipeline(Path(repo_dir).resolve(), kind, tracking_uri, dict(tags or {}), use_cache)
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
    finally:
        root.removeHandler(tail)
    durations = {**pipeline.durations, "total": round(time.perf_counter() - started, 3)}
    return replace(result, durations=durations)


class _Pipeline:
    """The state of one run; each method is one step."""

    def __init__(
        self, repo_dir: Path, kind: str, tracking_uri: str, tags: dict[str, str], use_cache: bool
    ) -> None:
        self.repo_dir, self.kind, self.tracking_uri = repo_dir, kind, tracking_uri
        self.tags, self.use_cache = tags, use_cache
        self.durations: dict[str, float] = {}
        self.model_name: str | None = None
        self.cache_key: str | None = None

    def run(self) -> PipelineResult:
        from pipelines.gates import evaluate_gates

        with self._step("config", "config"):
            config, metrics = self._config()
        with self._step("data", "data"):
            X_train, y_train, X_eval, y_eval = self._data(getattr(config.data, self.kind))
        with self._step("cache", "crash"):
            from pipelines.tracking import Tracker

            tracker = Tracker(self.tracking_uri)
            version = tracker.champion_version(config.model.name)
            self.cache_key = self._cache_key(config.config_hash(), version, X_train, y_train, X_eval, y_eval)
            cached = tracker.find_cached(self.cache_key) if self.use_cache and self.cache_key else None
        if cached is not None:
            earlier = PipelineResult.from_dict(cached)
            log.info("cache hit: reusing MLflow run %s (same inputs)", earlier.mlflow_run_id)
            return replace(earlier, cached_from=earlier.mlflow_run_id, cache_key=self.cache_key, log_tail=[])
        with self._step("train", "train"):
            model = self._train(config.model.train, X_train, y_train)
        with self._step("evaluate", "evaluate"):
            candidate, candidate_pred = self._evaluate("candidate", model, metrics, X_eval, y_eval)
        with self._step("champion", "crash"):
            champion, champion_pred, champion_error = self._champion(
                tracker, config.model.name, version, metrics, X_eval, y_eval
            )
        higher = {metric.name: metric.higher_is_better for metric in metrics}
        decision = evaluate_gates(getattr(config.gates, self.kind), candidate, champion, higher)
        log.info("gates %s: %d/%d passed", decision.verdict, decision.passed_count, decision.total)
        result = PipelineResult(
            status=str(decision.verdict), kind=self.kind, model_name=config.model.name,
            metrics={"candidate": candidate, "champion": champion},
            gates=[gate.as_dict() for gate in decision.results], higher_is_better=higher,
            champion_version=version if champion is not None else None, champion_error=champion_error,
            cache_key=self.cache_key, durations=dict(self.durations),
        )
        with self._step("tracking", "crash"):
            predictions = _predictions_frame(y_eval, candidate_pred, champion_pred)
            result = tracker.log_candidate(result, model, config.config_hash(), self.tags, predictions)
        log.info("logged MLflow run %s", result.mlflow_run_id)
        return result

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
            self.model_name = config.model.name
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

    def _evaluate(
        self, who: str, model: Any, metrics: list[Any], X_eval: Any, y_eval: Any
    ) -> tuple[dict[str, float], Any]:
        from pipelines.metrics import MetricError, compute_metrics

        y_pred = model.predict(X_eval)
        needs_score = any(metric.needs_score for metric in metrics)
        y_score = model.predict_proba(X_eval) if needs_score and hasattr(model, "predict_proba") else None
        try:
            values = compute_metrics(metrics, y_eval, y_pred, y_score)
        except MetricError as exc:
            raise StepError("evaluate", str(exc)) from exc
        log.info("%s: %s", who, ", ".join(f"{name} {value:.4f}" for name, value in values.items()))
        return values, y_pred

    def _champion(
        self, tracker: Any, model_name: str, version: int | None, metrics: list[Any], X_eval: Any, y_eval: Any
    ) -> tuple[dict[str, float] | None, Any, str | None]:
        """The champion's metrics on the same rows, or (None, None, reason) when it cannot be used."""
        if version is None:
            log.info("champion: none yet, judging by absolute gates alone")
            return None, None, None
        try:
            champion = tracker.load_champion(model_name, version)
            values, y_pred = self._evaluate(f"champion v{version}", champion.model, metrics, X_eval, y_eval)
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            reason = f"champion version {version} could not be evaluated on this data: {problem}"
            log.warning("%s; judging by absolute gates alone", reason)
            return None, None, " ".join(reason.split())
        return values, y_pred, None


def import_function(ref: str) -> Callable[..., Any]:
    """Import "module:function" (from the repository, first on sys.path); StepError("config") if absent."""
    module_name, _, attribute = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise StepError("config", f"{ref}: module {module_name!r} not found in the repository") from exc
        raise
    function = getattr(module, attribute, None)
    if function is None:
        raise StepError("config", f"{ref}: module {module_name!r} has no attribute {attribute!r}")
    if not callable(function):
        raise StepError("config", f"{ref}: {attribute!r} is a {type(function).__name__}, not a function")
    return cast(Callable[..., Any], function)


@contextmanager
def repo_imports(repo_dir: Path) -> Iterator[None]:
    """Make the repository's top-level modules importable, fresh, and forget them afterwards."""
    root = str(repo_dir)
    names = _top_level_names(repo_dir)
    saved = {name: module for name, module in sys.modules.items() if name.partition(".")[0] in names}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, root)
    write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the checkout
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.dont_write_bytecode = write_bytecode
        with suppress(ValueError):
            sys.path.remove(root)
        for name in [name for name in sys.modules if name.partition(".")[0] in names]:
            del sys.modules[name]
        sys.modules.update(saved)


def _top_level_names(repo_dir: Path) -> set[str]:
    """Module names the repository defines at its root (never our own ``pipelines`` package)."""
    names = {path.stem for path in repo_dir.glob("*.py")}
    names |= {path.name for path in repo_dir.iterdir() if path.is_dir() and path.name.isidentifier()}
    return names - {"pipelines"}


def _rows(data: Any) -> int:
    shape = getattr(data, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(data)
    except TypeError as exc:
        raise StepError("data", f"expected arrays or data frames, got {type(data).__name__}") from exc


def _predictions_frame(y_true: Any, candidate: Any, champion: Any) -> Any:
    """y_true / candidate / champion predictions per evaluation row (None for multi-output targets)."""
    import numpy as np
    import pandas as pd

    columns = {"y_true": y_true, "candidate": candidate, "champion": champion}
    arrays = {name: np.asarray(values) for name, values in columns.items() if values is not None}
    if any(array.ndim != 1 for array in arrays.values()):
        return None
    return pd.DataFrame(arrays)
