"""Predictions and labels as plain arrays: what a job saves and the trusted side turns back into
``Evaluation`` values for plots and the predictions artifact (never through pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.metrics import Evaluation

SAMPLE_ROWS = 5  # a few evaluation rows: what a deployment's health check predicts on


def plain(values: Any) -> Any:
    """``values`` as a numpy array that needs no pickle (object arrays become strings); None stays None."""
    import numpy as np

    if values is None:
        return None
    array = np.asarray(values)
    if array.dtype.kind == "O":
        array = array.astype(str)
    return array


def labels_digest(y: Any) -> str:
    """sha256 of the labels as a plain array (dtype, shape and bytes): the same rows give the same digest."""
    import hashlib

    import numpy as np

    array = np.ascontiguousarray(plain(y))
    header = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.sha256(header + b"\0" + array.tobytes()).hexdigest()


def evaluation_arrays(y_true: Any, candidate: Evaluation, champion: Evaluation | None) -> dict[str, Any]:
    """The named arrays of ``pipelines.job.files.ARRAY_NAMES`` (missing ones left out)."""
    found = {"y_true": plain(y_true)}
    for who, evaluation in (("candidate", candidate), ("champion", champion)):
        if evaluation is None:
            continue
        found[f"{who}_pred"] = plain(evaluation.y_pred)
        found[f"{who}_score"] = plain(evaluation.y_score)
        found[f"{who}_classes"] = plain(evaluation.classes)
    return {name: array for name, array in found.items() if array is not None}


def save_arrays(path: Path, arrays: dict[str, Any]) -> None:
    """Write the arrays as an uncompressed ``.npz``."""
    import numpy as np

    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def evaluations(arrays: dict[str, Any], candidate_values: dict[str, float],
                champion_values: dict[str, float] | None) -> tuple[Evaluation, Evaluation | None]:
    """The candidate's and champion's Evaluation rebuilt from saved arrays and reported metric values."""
    candidate = Evaluation(candidate_values, arrays["candidate_pred"], arrays.get("candidate_score"),
                           arrays.get("candidate_classes"))
    if champion_values is None or "champion_pred" not in arrays:
        return candidate, None
    champion = Evaluation(champion_values, arrays["champion_pred"], arrays.get("champion_score"),
                          arrays.get("champion_classes"))
    return candidate, champion


def sample_rows(X: Any, rows: int = SAMPLE_ROWS) -> str:
    """The first ``rows`` rows of ``X`` as pandas ``split`` JSON (what a scoring server accepts)."""
    import pandas as pd

    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    return str(frame.head(rows).to_json(orient="split", date_format="iso"))
