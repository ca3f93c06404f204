"""The job's ``predict_latency_ms`` step: the candidate and an unpickled champion are timed together
(interleaved, ``pipelines.latency``), so both see the same machine at the same moments; a champion that
was evaluated from recorded predictions brings the latency its own job measured in its environment."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from pipelines.checkout import StepError
from pipelines.job.recorded import RecordedModel
from pipelines.latency import measure_latency
from pipelines.metrics import Evaluation
from pipelines.model_metrics import PREDICT_LATENCY

log = logging.getLogger("pipelines.steps")
CANDIDATE, CHAMPION = "candidate", "champion"


def with_latency(
    model: Any, champion_model: Any, candidate: Evaluation, champion: Evaluation | None, X_eval: Any
) -> tuple[Evaluation, Evaluation | None]:
    """Both Evaluations with ``predict_latency_ms`` added (the champion's when it could be timed or was
    recorded); StepError("evaluate") when the candidate cannot predict a single row."""
    models = {CANDIDATE: model}
    if champion is not None and not isinstance(champion_model, RecordedModel):
        models[CHAMPION] = champion_model
    measured = measure_latency(models, X_eval)
    if CANDIDATE in measured.errors:
        raise StepError("evaluate", f"{PREDICT_LATENCY}: the candidate's {measured.errors[CANDIDATE]}")
    if CHAMPION in measured.errors:
        log.warning("%s of the champion not measured: %s", PREDICT_LATENCY, measured.errors[CHAMPION])
    champion_ms = measured.ms.get(CHAMPION)
    if isinstance(champion_model, RecordedModel):
        champion_ms = champion_model.predict_latency_ms
    candidate_ms = measured.ms[CANDIDATE]
    log.info("%s: candidate %.3f, champion %s", PREDICT_LATENCY, candidate_ms,
             "not measured" if champion_ms is None else f"{champion_ms:.3f}")
    return _with(candidate, candidate_ms), None if champion is None else _with(champion, champion_ms)


def champion_latency(model: Any, X_eval: Any) -> float | None:
    """The champion's ``predict_latency_ms`` alone (in a job of role "champion"), None when it cannot
    predict a single row (its relative gates are then skipped, as for any metric it lacks)."""
    measured = measure_latency({CHAMPION: model}, X_eval)
    if CHAMPION in measured.errors:
        log.warning("%s of the champion not measured: %s", PREDICT_LATENCY, measured.errors[CHAMPION])
        return None
    log.info("%s: champion %.3f", PREDICT_LATENCY, measured.ms[CHAMPION])
    return measured.ms[CHAMPION]


def _with(evaluation: Evaluation, ms: float | None) -> Evaluation:
    if ms is None:
        return evaluation
    return replace(evaluation, values={**evaluation.values, PREDICT_LATENCY: ms})
