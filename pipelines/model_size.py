"""``model_size_mb``: the size of the saved model, measured on the trusted side from the files
themselves (the job is untrusted, so it is not asked): the candidate's ``model.pkl`` in the model folder
the job wrote, and the champion's ``model.pkl`` among its registered files, read before anything
replaces them. Only the pickle counts, for both: MLflow's metadata files written around it when a model
is logged (MLmodel, requirements, environments: a few KB) would otherwise make every champion look bigger.
"""

from __future__ import annotations

import stat
from pathlib import Path

from pipelines.job import files
from pipelines.model_metrics import MODEL_METRICS, MODEL_SIZE, model_metric_directions

BYTES_PER_MB = 1_000_000


def saved_model_mb(folder: Path) -> float | None:
    """The size of ``folder/model.pkl`` in MB (10^6 bytes); None when it is not a regular file."""
    try:
        info = (folder / files.MODEL_FILE).lstat()
    except OSError:
        return None
    return info.st_size / BYTES_PER_MB if stat.S_ISREG(info.st_mode) else None


def with_model_size(
    evaluation: files.JobEvaluation, candidate_mb: float | None, champion_mb: float | None
) -> files.JobEvaluation:
    """The job's evaluation with ``model_size_mb`` as measured here (a value the job reported under that
    name is dropped), and the model metrics' direction forced to lower is better."""
    candidate = _sized(evaluation.candidate, candidate_mb)
    champion = None if evaluation.champion is None else _sized(evaluation.champion, champion_mb)
    directions = {name: higher for name, higher in evaluation.higher_is_better.items()
                  if name not in MODEL_METRICS}
    return evaluation.model_copy(update={
        "candidate": candidate, "champion": champion,
        "higher_is_better": {**directions, **model_metric_directions(candidate)},
    })


def _sized(values: dict[str, float], mb: float | None) -> dict[str, float]:
    kept = {name: value for name, value in values.items() if name != MODEL_SIZE}
    return kept if mb is None else {**kept, MODEL_SIZE: mb}
