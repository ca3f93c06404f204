"""The job: the part of a run that executes the repository's code, inside the sandbox.

config → data → (fingerprint; the trusted side says go or stop) → train → evaluate the candidate →
evaluate the champion (unpickled from a read-only copy of its files) → predict_latency_ms of both, when
the configuration names it → intervals and slices (they call the repository's metric and slice
functions) → the output files of ``pipelines.job.files``.

Role "champion" (run in the champion's own environment): config → data → the champion unpickled and
predicting the evaluation rows (and timed, when the configuration names predict_latency_ms) →
``champion_predictions.npz``/``.json`` (no handshake, stdin unread). A candidate job whose champion
folder holds those files evaluates the champion from them, unpickling nothing.

It gets no tracking URI, registry, database, settings or token, and never imports mlflow.
"""

from __future__ import annotations

import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pipelines.checkout import StepError, import_function, repo_code_by_value, repo_imports
from pipelines.job import files
from pipelines.job.answer import read_answer
from pipelines.progress import PROGRESS_FILE, ProgressFile
from pipelines.stepping import LogTail, Steps

log = logging.getLogger("pipelines.steps")
JobRole = Literal["candidate", "champion"]


@dataclass(frozen=True)
class JobSpec:
    """What the trusted side asks of a job (passed as JSON on its command line)."""

    repo_dir: Path
    kind: str
    output_dir: Path
    champion_dir: Path | None = None  # its files are there once the answer says "go <version>"
    role: JobRole = "candidate"  # "champion": only the champion's predictions, from champion_dir
    answer_file: str | None = None  # set: the answer is polled from this file, not read from stdin

    def to_json(self) -> str:
        """The spec as one JSON line."""
        champion = None if self.champion_dir is None else str(self.champion_dir)
        return json.dumps({"repo_dir": str(self.repo_dir), "kind": self.kind,
                           "output_dir": str(self.output_dir), "champion_dir": champion,
                           "role": self.role, "answer_file": self.answer_file})

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        """Rebuild from ``to_json()``."""
        data = json.loads(text)
        champion, role = data.get("champion_dir"), data.get("role", "candidate")
        if role not in get_args(JobRole):
            raise ValueError(f"unknown job role {role!r} (expected one of {', '.join(get_args(JobRole))})")
        return cls(Path(data["repo_dir"]), str(data["kind"]), Path(data["output_dir"]),
                   None if champion is None else Path(champion), role=role,
                   answer_file=data.get("answer_file"))


def run_job(spec: JobSpec) -> int:
    """Run the job; 0 when it wrote its evaluation (or was told to stop), 1 when it wrote an error."""
    job = _Job(spec)
    with LogTail().attached() as tail:
        try:
            with repo_imports(spec.repo_dir):
                if spec.role == "champion":
                    job.run_champion()
                else:
                    job.run()
            return 0
        except StepError as exc:
            log.error("%s job stopped (%s): %s", spec.kind, exc.kind, exc.message)
            error = files.JobError(error_kind=exc.kind, error=exc.message[:20_000],
                                   log_tail=[*tail.lines, *exc.tail][-200:], model_name=job.model_name,
                                   task=job.task)
            files.write_json(spec.output_dir, files.ERROR_FILE, error)
            return 1


class _Job:
    """The state of one job; each method is one step."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        # a candidate's steps are relayed to the check run; a champion job writes its predictions only
        progress = ProgressFile(spec.output_dir / PROGRESS_FILE) if spec.role == "candidate" else None
        self.steps = Steps(progress)
        self.model_name: str | None = None
        self.task: str | None = None
        self.champion_version: int | None = None

    def run(self) -> None:
        from pipelines.analysis import analyse
        from pipelines.evaluation import evaluate
        from pipelines.job.timing import with_latency
        from pipelines.model_metrics import latency_wanted, model_metric_directions
        from pipelines.slices import SliceError

        step = self.steps.step
        with step("config", "config"):
            config, metrics = self._config()
        with step("data", "data"):
            X_train, y_train, X_eval, y_eval = self._data(getattr(config.data, self.spec.kind))
        if not self._go_on(X_train, y_train, X_eval, y_eval):
            log.info("the result of an earlier run with the same inputs is reused: not training")
            return
        with step("train", "train"):
            model = self._train(config.model.train, X_train, y_train)
        with step("evaluate", "evaluate"):
            candidate = evaluate("candidate", model, metrics, X_eval, y_eval, self.task)
        with step("champion", "crash"):
            champion, champion_error, champion_model = self._champion(metrics, X_eval, y_eval)
        if latency_wanted(config):
            with step("latency", "evaluate"):
                candidate, champion = with_latency(model, champion_model, candidate, champion, X_eval)
        with step("analysis", "crash"):
            try:
                analysis = analyse(config, metrics, X_eval, y_eval, candidate, champion, import_function,
                                   plots=False)
            except SliceError as exc:
                raise StepError("data", str(exc)) from exc
        with step("save", "crash"):
            self._save(model, X_eval, y_eval, candidate, champion)
        evaluation = files.JobEvaluation(
            model_name=config.model.name, task=config.model.task, candidate=candidate.values,
            champion=None if champion is None else champion.values,
            higher_is_better={**{metric.name: metric.higher_is_better for metric in metrics},
                              **model_metric_directions(candidate.values)},
            champion_error=champion_error, intervals=[i.as_dict() for i in analysis.intervals.values()],
            slices=[row.as_dict() for row in analysis.slices], durations=self.steps.durations,
            params=model_params(model),
        )
        files.write_json(self.spec.output_dir, files.EVALUATION_FILE, evaluation)

    def run_champion(self) -> None:
        """Role "champion": predict the evaluation rows with the champion and write them as plain data."""
        from pipelines.evaluation import predictions
        from pipelines.job.recorded import save_predictions
        from pipelines.job.timing import champion_latency
        from pipelines.model_metrics import latency_wanted

        step = self.steps.step
        with step("config", "config"):
            config, metrics = self._config()
        with step("data", "data"):
            _, _, X_eval, y_eval = self._data(getattr(config.data, self.spec.kind))
        with step("champion", "champion"):
            if self.spec.champion_dir is None:
                raise StepError("champion", "a champion job needs the champion's files (champion_dir)")
            model = load_model(self.spec.champion_dir)
            y_pred, y_score = predictions(model, metrics, X_eval, self.task)
        latency = None
        if latency_wanted(config):
            with step("latency", "champion"):
                latency = champion_latency(model, X_eval)
        with step("save", "crash"):
            save_predictions(self.spec.output_dir, y_eval, y_pred, y_score, getattr(model, "classes_", None),
                             self.steps.durations, latency)
        log.info("champion: predicted %d evaluation rows", _rows(X_eval))

    def _config(self) -> tuple[Any, list[Any]]:
        from pipelines.config import ConfigError, load_config
        from pipelines.metrics import MetricError, resolve_metrics

        try:
            config = load_config(self.spec.repo_dir)
            self.model_name, self.task = config.model.name, config.model.task
            metrics = resolve_metrics(config, import_function)
        except ConfigError as exc:
            raise StepError("config", "; ".join(exc.messages)) from exc
        except MetricError as exc:
            raise StepError("config", str(exc)) from exc
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

    def _go_on(self, *arrays: Any) -> bool:
        """Write the data fingerprint and wait for the trusted side's answer (on stdin, or in the answer
        file; it also says the champion's version once its files are in place)."""
        from pipelines.fingerprint import data_fingerprint

        try:
            fingerprint: str | None = data_fingerprint(*arrays)
        except Exception as exc:  # unusual containers: no cache rather than a failed run
            log.warning("data cannot be fingerprinted (%s: %s); result cache off", type(exc).__name__, exc)
            fingerprint = None
        files.write_json(self.spec.output_dir, files.FINGERPRINT_FILE, files.JobFingerprint(data=fingerprint))
        go_on, self.champion_version = files.parse_answer(read_answer(self.spec.answer_file))
        return go_on

    def _train(self, ref: str, X_train: Any, y_train: Any) -> Any:
        model = import_function(ref)(X_train, y_train)
        if not callable(getattr(model, "predict", None)):
            raise StepError("train", f"{ref} returned {type(model).__name__}, which has no predict()")
        log.info("train: fitted %s", type(model).__name__)
        return model

    def _champion(self, metrics: list[Any], X_eval: Any, y_eval: Any) -> tuple[Any, str | None, Any]:
        """(the champion's Evaluation on the same rows, None, the model or its recorded stand-in), or
        (None, reason, None) when it cannot be used."""
        from pipelines.evaluation import evaluate
        from pipelines.job.recorded import has_recorded_predictions, recorded_champion

        version, folder = self.champion_version, self.spec.champion_dir
        if version is None or folder is None:
            log.info("champion: none yet, judging by absolute gates alone")
            return None, None, None
        try:
            recorded = has_recorded_predictions(folder)
            model = recorded_champion(folder, y_eval) if recorded else load_model(folder)
            return evaluate(f"champion v{version}", model, metrics, X_eval, y_eval, self.task), None, model
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
            reason = f"champion version {version} could not be evaluated on this data: {problem}"
            log.warning("%s; judging by absolute gates alone", reason)
            return None, " ".join(reason.split())[:2000], None

    def _save(self, model: Any, X_eval: Any, y_eval: Any, candidate: Any, champion: Any) -> None:
        """The model as files (cloudpickle, the repository's modules by value), arrays and sample rows."""
        import cloudpickle

        from pipelines.job.arrays import evaluation_arrays, sample_rows, save_arrays

        output = self.spec.output_dir
        (output / files.MODEL_DIR).mkdir(exist_ok=True)
        target = output / files.MODEL_DIR / files.MODEL_FILE
        with repo_code_by_value(self.spec.repo_dir), target.open("wb") as out:
            cloudpickle.dump(model, out)
        save_arrays(output / files.ARRAYS_FILE, evaluation_arrays(y_eval, candidate, champion))
        (output / files.SAMPLE_FILE).write_text(sample_rows(X_eval), encoding="utf-8")


def load_model(folder: Path) -> Any:
    """The champion unpickled from ``folder/model.pkl`` (in the sandbox: it is this repository's model)."""
    with (folder / files.MODEL_FILE).open("rb") as handle:
        return pickle.load(handle)


def model_params(model: Any, limit: int = 500) -> dict[str, str | int | float | bool | None]:
    """The model's ``get_params()`` values that are plain JSON scalars, keyed ``model.<name>``."""
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return {}
    try:
        params = get_params()
    except Exception:  # a model with a broken get_params still gets logged
        return {}
    plain = {
        f"model.{key}"[:250]: value[:limit] if isinstance(value, str) else value
        for key, value in params.items()
        if value is None or isinstance(value, str | int | float | bool)
    }
    return dict(list(plain.items())[:500])


def _rows(data: Any) -> int:
    shape = getattr(data, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(data)
    except TypeError as exc:
        raise StepError("data", f"expected arrays or data frames, got {type(data).__name__}") from exc
