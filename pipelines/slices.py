"""Slices: the configured metrics on groups of evaluation rows, for the candidate and the champion.

A slice set (``.modelgate.yml`` ``slices``) groups the rows by a column of X_eval or by a function
of the repository returning one label per row; every label is one slice ("region=north"). A metric
undefined on a slice (e.g. ROC AUC with one class) is None there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.gates import delta
from pipelines.metrics import Evaluation, Metric, metric_on_rows

if TYPE_CHECKING:
    import numpy as np
    from reports.types import SliceRow as SliceRowData

    from pipelines.config import SliceSpec

log = logging.getLogger(__name__)
MAX_VALUES = 50  # slices per slice set; beyond it only the largest are kept
MISSING = "(missing)"


class SliceError(Exception):
    """A slice set cannot be computed on this data; the message names the slice set."""


@dataclass(frozen=True)
class SliceRow:
    """One metric on one slice: slice set, slice value, row count, both values and the improvement."""

    slice: str
    value: str
    rows: int
    metric: str
    candidate: float | None
    champion: float | None
    delta: float | None

    @property
    def label(self) -> str:
        """e.g. "region=north"."""
        return f"{self.slice}={self.value}"

    def as_dict(self) -> SliceRowData:
        """Plain dict: slice, value, rows, metric, candidate, champion, delta."""
        return {"slice": self.slice, "value": self.value, "rows": self.rows, "metric": self.metric,
                "candidate": self.candidate, "champion": self.champion, "delta": self.delta}


def compute_slices(
    specs: Sequence[SliceSpec],
    X_eval: Any,
    y_true: Any,
    metrics: Sequence[Metric],
    candidate: Evaluation,
    champion: Evaluation | None,
    import_function: Callable[[str], Callable[..., Any]],
) -> list[SliceRow]:
    """Every metric on every slice of every slice set, in configuration order then by slice value."""
    import numpy as np

    table: list[SliceRow] = []
    for spec in specs:
        labels = slice_labels(spec, X_eval, import_function)
        for value, rows in _groups(spec.name, labels):
            positions = np.flatnonzero(rows)
            for metric in metrics:
                ours = metric_on_rows(metric, y_true, candidate, positions)
                theirs = None if champion is None else metric_on_rows(metric, y_true, champion, positions)
                change = None
                if ours is not None and theirs is not None:
                    change = delta(metric.higher_is_better, ours, theirs)
                table.append(SliceRow(spec.name, value, positions.size, metric.name, ours, theirs, change))
    return table


def slice_labels(
    spec: SliceSpec, X_eval: Any, import_function: Callable[[str], Callable[..., Any]]
) -> np.ndarray:
    """One string label per evaluation row (missing values become "(missing)"); raises SliceError."""
    import numpy as np
    import pandas as pd

    rows = X_eval.shape[0] if hasattr(X_eval, "shape") else len(X_eval)
    where = f"slice {spec.name!r}"
    if spec.column is not None:
        if not isinstance(X_eval, pd.DataFrame):
            got = type(X_eval).__name__
            raise SliceError(f"{where}: column slices need X_eval as a pandas DataFrame (got {got})")
        if spec.column not in X_eval.columns:
            columns = ", ".join(map(str, X_eval.columns[:20]))
            raise SliceError(f"{where}: X_eval has no column {spec.column!r} (columns: {columns})")
        values: Any = X_eval[spec.column].to_numpy()
    else:
        assert spec.function is not None  # exactly one of column and function (config)
        function = import_function(spec.function)
        try:
            values = function(X_eval)
        except Exception as exc:
            raise SliceError(f"{where}: {spec.function} raised {type(exc).__name__}: {exc}") from exc
    array = np.asarray(values, dtype=object)
    if array.shape != (rows,):
        raise SliceError(
            f"{where}: {spec.function} returned {array.shape[0] if array.ndim else 'a scalar'} "
            f"labels for {rows} evaluation rows (expected one label per row)"
        )
    missing = pd.isna(array)
    return np.where(missing, MISSING, array.astype(str))


def _groups(name: str, labels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(value, row mask) per distinct label, sorted by value; only the MAX_VALUES largest are kept."""
    import numpy as np

    values, counts = np.unique(labels, return_counts=True)
    if values.size > MAX_VALUES:
        log.warning("slice %s has %d values: keeping the %d largest", name, values.size, MAX_VALUES)
        keep = sorted(np.argsort(-counts, kind="stable")[:MAX_VALUES])
        values = values[keep]
    return [(str(value), labels == value) for value in values]
