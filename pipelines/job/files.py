"""The files a job writes into its output folder, and how the trusted side reads them back.

Everything here is plain data: JSON, an ``.npz`` read with ``allow_pickle=False``, and the saved model
as files the trusted side copies without opening. A job is untrusted, so reading validates types,
sizes and file kinds; anything off is a ``JobOutputError`` (the run fails with that message).

| file | written when | holds |
|---|---|---|
| ``fingerprint.json`` | the data is loaded | the data fingerprint (answered on stdin: go [version] / stop) |
| ``evaluation.json`` | the job finished | model, task, metrics, direction, intervals, slices, step timings |
| ``error.json`` | a step failed | error kind, message, log tail |
| ``arrays.npz`` | the job finished | labels, both models' predictions and scores, classes |
| ``sample.json`` | the job finished | the first evaluation rows (pandas ``split`` JSON) |
| ``model/`` | the job finished | ``model.pkl`` (cloudpickle): copied to MLflow, never loaded here |

A job of role "champion" writes only (besides ``error.json``):

| file | holds |
|---|---|
| ``champion_predictions.json`` | row count, digest of the evaluation labels, step timings, latency |
| ``champion_predictions.npz`` | the champion's ``y_pred``, ``y_score`` and ``classes`` (those it has) |

A candidate job whose champion folder holds these two files evaluates the champion from them (no pickle).
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.bootstrap import MetricInterval
from pipelines.slices import SliceRow

FINGERPRINT_FILE = "fingerprint.json"
EVALUATION_FILE = "evaluation.json"
ERROR_FILE = "error.json"
ARRAYS_FILE = "arrays.npz"
SAMPLE_FILE = "sample.json"
MODEL_DIR = "model"
MODEL_FILE = "model.pkl"
PREDICTIONS_FILE = "champion_predictions.json"
PREDICTIONS_ARRAYS_FILE = "champion_predictions.npz"
GO, STOP = "go", "stop"
MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_ARRAYS_BYTES = 2 * 1024**3
MAX_MODEL_BYTES = 4 * 1024**3
ARRAY_NAMES = ("y_true", "candidate_pred", "candidate_score", "candidate_classes",
               "champion_pred", "champion_score", "champion_classes")
PREDICTION_NAMES = ("y_pred", "y_score", "classes")


T = TypeVar("T", bound=BaseModel)


def answer_line(go_on: bool, champion_version: int | None) -> str:
    """The trusted side's answer to a fingerprint: ``stop``, ``go`` or ``go <champion version>``."""
    if not go_on:
        return STOP
    return GO if champion_version is None else f"{GO} {champion_version}"


def parse_answer(line: str) -> tuple[bool, int | None]:
    """(go on?, the champion's version) from an answer line; anything unexpected stops the job."""
    words = line.split()
    if not words or words[0] != GO or len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
        return False, None
    return True, int(words[1]) if len(words) == 2 else None


class JobOutputError(Exception):
    """A job's output is missing, too large, not a regular file or not what the contract says."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")


class JobFingerprint(_Strict):
    """What the job found before training: the fingerprint of its data (None: not fingerprintable)."""

    data: str | None = Field(default=None, max_length=128)


class JobError(_Strict):
    """A failed step: ``error_kind`` as in PipelineResult, its message and the job's log tail."""

    error_kind: Literal["config", "data", "train", "evaluate", "champion", "crash"]
    error: str = Field(max_length=20_000)
    log_tail: list[str] = Field(default_factory=list, max_length=200)
    model_name: str | None = Field(default=None, max_length=200)
    task: str | None = Field(default=None, max_length=40)


class _Interval(_Strict):
    metric: str = Field(max_length=200)
    delta: float
    ci_low: float | None
    ci_high: float | None
    resamples: int


class _Slice(_Strict):
    slice: str = Field(max_length=200)
    value: str = Field(max_length=500)
    rows: int
    metric: str = Field(max_length=200)
    candidate: float | None
    champion: float | None
    delta: float | None


class JobEvaluation(_Strict):
    """The numbers a finished job reports; the trusted side applies the gates to them."""

    model_name: str = Field(max_length=200)
    task: Literal["classification", "regression"]
    candidate: dict[str, float]
    champion: dict[str, float] | None
    higher_is_better: dict[str, bool]
    champion_error: str | None = Field(default=None, max_length=2000)
    intervals: list[_Interval] = Field(default_factory=list, max_length=1000)
    slices: list[_Slice] = Field(default_factory=list, max_length=100_000)
    durations: dict[str, float] = Field(default_factory=dict)
    params: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=500)

    def metric_intervals(self) -> dict[str, MetricInterval]:
        """The intervals as the analysis code keeps them."""
        return {item.metric: MetricInterval(**item.model_dump()) for item in self.intervals}

    def slice_rows(self) -> list[SliceRow]:
        """The slice table as the analysis code keeps it."""
        return [SliceRow(**item.model_dump()) for item in self.slices]


class ChampionPredictions(_Strict):
    """What a champion job predicted on: how many rows, and a digest of their labels (``labels_digest``);
    the champion's ``predict_latency_ms`` measured in its own environment (None: not asked for)."""

    rows: int = Field(ge=1)
    labels_digest: str = Field(max_length=128)
    durations: dict[str, float] = Field(default_factory=dict)
    predict_latency_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)


def write_json(folder: Path, name: str, document: BaseModel) -> None:
    """Write ``document`` atomically (NaN and infinities as JSON's non-standard literals)."""
    partial = folder / f".{name}.tmp"
    partial.write_text(document.model_dump_json(), encoding="utf-8")
    os.replace(partial, folder / name)


def regular_file(path: Path, limit: int) -> Path:
    """``path`` if it is a regular file (not a link, device or folder) of at most ``limit`` bytes."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise JobOutputError(f"the job wrote no {path.name}") from None
    if not stat.S_ISREG(info.st_mode):
        raise JobOutputError(f"{path.name} is not a regular file (links and devices are refused)")
    if info.st_size > limit:
        raise JobOutputError(f"{path.name} is {info.st_size} bytes, more than the {limit} allowed")
    return path


def read_json(folder: Path, name: str, schema: type[T]) -> T | None:
    """The validated document, or None when the job did not write it."""
    path = folder / name
    if not path.exists() and not path.is_symlink():
        return None
    text = regular_file(path, MAX_JSON_BYTES).read_text(encoding="utf-8", errors="replace")
    try:
        return schema.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise JobOutputError(f"{name} from the job is malformed at {where}: {first['msg']}") from None


def wait_for_fingerprint(
    folder: Path, running: Callable[[], bool], poll_seconds: float
) -> JobFingerprint | None:
    """The job's data fingerprint in ``folder`` once written, polled while ``running()`` (which may raise,
    e.g. at a deadline); None when the job ended without writing it."""
    while running():
        found = read_json(folder, FINGERPRINT_FILE, JobFingerprint)
        if found is not None:
            return found
        time.sleep(poll_seconds)
    return read_json(folder, FINGERPRINT_FILE, JobFingerprint)


def read_arrays(folder: Path) -> dict[str, Any]:
    """The job's arrays (no pickled objects: ``allow_pickle=False``); only the known names."""
    arrays = _load_arrays(folder, ARRAYS_FILE, ARRAY_NAMES)
    if "y_true" not in arrays or "candidate_pred" not in arrays:
        raise JobOutputError(f"{ARRAYS_FILE} from the job lacks y_true or candidate_pred")
    rows = len(arrays["y_true"])
    for name in ("candidate_pred", "candidate_score", "champion_pred", "champion_score"):
        if name in arrays and len(arrays[name]) != rows:
            raise JobOutputError(f"{ARRAYS_FILE}: {name} has {len(arrays[name])} rows, y_true has {rows}")
    return arrays


def read_champion_predictions(folder: Path) -> tuple[ChampionPredictions, dict[str, Any]]:
    """A champion job's predictions (``PREDICTION_NAMES``, no pickle), checked against its row count."""
    document = read_json(folder, PREDICTIONS_FILE, ChampionPredictions)
    if document is None:
        raise JobOutputError(f"the champion job wrote no {PREDICTIONS_FILE}")
    arrays = _load_arrays(folder, PREDICTIONS_ARRAYS_FILE, PREDICTION_NAMES)
    if "y_pred" not in arrays:
        raise JobOutputError(f"{PREDICTIONS_ARRAYS_FILE} from the job lacks y_pred")
    for name in ("y_pred", "y_score"):
        if name in arrays and (arrays[name].ndim == 0 or len(arrays[name]) != document.rows):
            raise JobOutputError(f"{PREDICTIONS_ARRAYS_FILE}: {name} does not have {document.rows} rows")
    return document, arrays


def _load_arrays(folder: Path, name: str, names: tuple[str, ...]) -> dict[str, Any]:
    """The arrays of ``names`` found in the ``.npz`` ``name`` (``allow_pickle=False``)."""
    import numpy as np

    path = regular_file(folder / name, MAX_ARRAYS_BYTES)
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in names if key in stored.files}
    except (ValueError, OSError, KeyError) as exc:
        raise JobOutputError(f"{name} from the job cannot be read: {exc}") from None


def model_files(folder: Path) -> Path:
    """The job's saved-model folder, checked: exactly one regular ``model.pkl`` and nothing else."""
    directory = folder / MODEL_DIR
    if directory.is_symlink() or not directory.is_dir():
        raise JobOutputError("the job saved no model folder")
    names = sorted(entry.name for entry in directory.iterdir())
    if names != [MODEL_FILE]:
        raise JobOutputError(f"the model folder must hold only {MODEL_FILE} (found: {', '.join(names)})")
    regular_file(directory / MODEL_FILE, MAX_MODEL_BYTES)
    return directory


def read_sample(folder: Path) -> str | None:
    """The sample rows' JSON text (checked to be JSON), or None when the job wrote none."""
    path = folder / SAMPLE_FILE
    if not path.exists():
        return None
    text = regular_file(path, MAX_JSON_BYTES).read_text(encoding="utf-8", errors="replace")
    try:
        json.loads(text)
    except ValueError as exc:
        raise JobOutputError(f"{SAMPLE_FILE} from the job is not JSON: {exc}") from None
    return text
