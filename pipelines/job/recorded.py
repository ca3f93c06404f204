"""The champion's predictions as plain data: what a job of role "champion" writes (in the champion's own
environment), and the stand-in model that replays them in a candidate's job (nothing is unpickled there).

The stand-in goes through the same ``evaluate`` as an unpickled champion, so metrics (custom ones too),
intervals and slices are computed exactly alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.checkout import StepError
from pipelines.job import files
from pipelines.job.arrays import labels_digest, plain, save_arrays


class RecordedRowsError(Exception):
    """The recorded predictions were made on other rows than this job's evaluation rows."""


def save_predictions(folder: Path, y_eval: Any, y_pred: Any, y_score: Any, classes: Any,
                     durations: dict[str, float], latency_ms: float | None = None) -> None:
    """Write ``champion_predictions.npz``, then ``champion_predictions.json`` (which says it is complete,
    with ``predict_latency_ms`` when measured); StepError("champion") when the predictions do not have
    one row per label."""
    rows = len(plain(y_eval))
    arrays = {"y_pred": plain(y_pred), "y_score": plain(y_score), "classes": plain(classes)}
    for name in ("y_pred", "y_score"):
        array = arrays[name]
        if array is not None and (array.ndim == 0 or len(array) != rows):
            raise StepError("champion", f"the champion's {name} has shape {array.shape}, not {rows} rows")
    save_arrays(folder / files.PREDICTIONS_ARRAYS_FILE,
                {name: array for name, array in arrays.items() if array is not None})
    document = files.ChampionPredictions(rows=rows, labels_digest=labels_digest(y_eval), durations=durations,
                                         predict_latency_ms=latency_ms)
    files.write_json(folder, files.PREDICTIONS_FILE, document)


def has_recorded_predictions(folder: Path) -> bool:
    """Whether ``folder`` holds a champion job's predictions (rather than the champion's model files)."""
    return any((folder / name).exists() or (folder / name).is_symlink()
               for name in (files.PREDICTIONS_FILE, files.PREDICTIONS_ARRAYS_FILE))


def recorded_champion(folder: Path, y_eval: Any) -> RecordedModel:
    """The stand-in for the champion whose predictions ``folder`` holds; ``RecordedRowsError`` when they
    were made on other rows, ``JobOutputError`` when the files are not what the contract says."""
    document, arrays = files.read_champion_predictions(folder)
    rows, digest = len(plain(y_eval)), labels_digest(y_eval)
    if document.rows != rows or document.labels_digest != digest:
        raise RecordedRowsError(
            f"its recorded predictions are for other rows ({document.rows} rows, labels "
            f"{document.labels_digest[:12]}; this data: {rows} rows, labels {digest[:12]}): "
            "the data changed between the champion's job and this one"
        )
    kind = _RecordedScores if "y_score" in arrays else RecordedModel
    return kind(arrays, document.predict_latency_ms)


class RecordedModel:
    """Answers ``predict`` with the recorded predictions (for the very rows they were made on);
    ``predict_latency_ms`` is what the champion's own job measured (None: not measured)."""

    def __init__(self, arrays: dict[str, Any], predict_latency_ms: float | None = None) -> None:
        self._y_pred = arrays["y_pred"]
        self.classes_ = arrays.get("classes")
        self.predict_latency_ms = predict_latency_ms

    def predict(self, X: Any) -> Any:
        """The recorded predictions."""
        self._check(X)
        return self._y_pred

    def _check(self, X: Any) -> None:
        shape = getattr(X, "shape", None)
        rows = int(shape[0]) if shape else len(X)
        if rows != len(self._y_pred):
            raise RecordedRowsError(f"asked for {rows} rows, recorded {len(self._y_pred)}")


class _RecordedScores(RecordedModel):
    """A stand-in whose champion recorded scores: it has ``predict_proba`` too."""

    def __init__(self, arrays: dict[str, Any], predict_latency_ms: float | None = None) -> None:
        super().__init__(arrays, predict_latency_ms)
        self._y_score = arrays["y_score"]

    def predict_proba(self, X: Any) -> Any:
        """The recorded scores."""
        self._check(X)
        return self._y_score
