"""The outcome of one pipeline run: a frozen, JSON-serialisable value handed to the bot and the CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pipelines.gates import delta

STATUSES = ("passed", "failed", "error")
KINDS = ("staging", "production")
ERROR_KINDS = ("config", "environment", "data", "train", "evaluate", "timeout", "crash", "cancelled",
               "secrets", "vanished")
LOG_TAIL_LINES = 50


def _empty_metrics() -> dict[str, Any]:
    return {"candidate": {}, "champion": None}


@dataclass(frozen=True)
class PipelineResult:
    """What a staging or production run found; ``status`` is "passed", "failed" or "error"."""

    status: str
    kind: str
    model_name: str | None = None
    metrics: dict[str, Any] = field(default_factory=_empty_metrics)
    gates: list[dict[str, Any]] = field(default_factory=list)
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    champion_version: int | None = None
    champion_error: str | None = None
    mlflow_run_id: str | None = None
    mlflow_experiment_id: str | None = None
    cached_from: str | None = None
    cache_key: str | None = None
    error: str | None = None
    error_kind: str | None = None
    log_tail: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    eval_predictions: str | None = None
    report_files: list[str] = field(default_factory=list)  # written into the job's output directory
    environment: str | None = None  # which environment the job ran in, for people (check run, CLI)

    @classmethod
    def failure(
        cls, kind: str, error_kind: str, error: str, log_tail: list[str] | None = None, **extra: Any
    ) -> PipelineResult:
        """An error result; ``error`` is squeezed onto one line."""
        one_line = " ".join(error.split()) or error_kind
        tail = list(log_tail or [])[-LOG_TAIL_LINES:]
        return cls(status="error", kind=kind, error=one_line, error_kind=error_kind, log_tail=tail, **extra)

    @property
    def candidate_metrics(self) -> dict[str, float]:
        """The candidate's metrics, in configuration order."""
        return dict(self.metrics.get("candidate") or {})

    @property
    def champion_metrics(self) -> dict[str, float] | None:
        """The champion's metrics on the same rows, or None without a usable champion."""
        champion = self.metrics.get("champion")
        return None if champion is None else dict(champion)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (deep copy)."""
        return asdict(self)

    def to_json(self) -> str:
        """The result as pretty-printed JSON."""
        return json.dumps(self.as_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PipelineResult:
        """Rebuild from ``as_dict()`` output; unknown keys (from newer writers) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @classmethod
    def from_json(cls, text: str) -> PipelineResult:
        """Rebuild from ``to_json()`` output."""
        return cls.from_dict(json.loads(text))

    def summary_line(self) -> str:
        """One line for a commit status, e.g. "accuracy 0.953 (+0.012 vs champion), 3/3 gates passed".

        The change is the first configured metric's improvement (positive = better, as in reports).
        """
        if self.status == "error":
            return f"error: {self.error}"
        passed = sum(1 for gate in self.gates if gate.get("passed"))
        gates = f"{passed}/{len(self.gates)} gates passed"
        candidate = self.candidate_metrics
        if not candidate:
            return gates
        name, value = next(iter(candidate.items()))
        champion = self.champion_metrics
        if champion is not None and name in champion:
            improvement = delta(self.higher_is_better.get(name, True), value, champion[name])
            versus = f"{improvement:+.3f} vs champion"
        elif self.champion_error:
            versus = "champion unusable"
        else:
            versus = "first model"
        return f"{name} {value:.3f} ({versus}), {gates}"
