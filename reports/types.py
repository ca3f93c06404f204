"""The data contract of a report: what pipelines/ builds and reports/ renders (JSON-ready dicts)."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Curve(TypedDict):
    """One ROC or precision-recall curve; ``auc`` is the area under it (None when unknown)."""

    x: list[float]
    y: list[float]
    auc: float | None


class CurvePair(TypedDict):
    """The candidate's curve and the champion's on the same rows."""

    candidate: Curve
    champion: Curve | None


class MetricRow(TypedDict):
    """One metric: both values and the candidate's signed improvement with its 95% CI."""

    name: str
    higher_is_better: bool
    candidate: float | None
    champion: float | None
    delta: float | None  # signed improvement, + = candidate better (direction-aware)
    ci_low: float | None  # 95% paired-bootstrap CI of delta
    ci_high: float | None


class GateRow(TypedDict):
    """One gate as judged; ``slice`` names the worst slice for rule "max_slice_regression"."""

    metric: str
    rule: str
    threshold: float
    candidate: float | None
    champion: float | None
    passed: bool
    reason: str
    significant: bool
    ci_low: float | None
    ci_high: float | None
    slice: str | None  # e.g. "region=north"


class SliceRow(TypedDict):
    """One metric on one slice of the evaluation rows (e.g. slice "region", value "north")."""

    slice: str
    value: str
    rows: int
    metric: str
    candidate: float | None
    champion: float | None
    delta: float | None


class ClassificationPlots(TypedDict):
    """Plot data of a classifier; curves are for the positive class (binary) or micro-averaged."""

    labels: list[str]
    confusion_candidate: list[list[int]]  # rows: actual label, columns: predicted label
    confusion_champion: list[list[int]] | None
    roc: CurvePair | None
    pr: CurvePair | None


class RegressionPlots(TypedDict):
    """Plot data of a regressor: the true values and both models' predictions, row by row."""

    y_true: list[float]
    candidate: list[float]
    champion: list[float] | None


class HistoryPoint(TypedDict):
    """A metric of one promoted version; ``when`` is an ISO 8601 timestamp."""

    version: int
    when: str
    metric: str
    value: float


class Links(TypedDict):
    """URLs shown on the links line (each only when set)."""

    mlflow_run: str | None
    log: str | None
    commit: str | None
    full_report: str | None


class ReportData(TypedDict):
    """Everything a staging or production report shows."""

    kind: str  # "staging" | "production"
    status: str  # "passed" | "failed" | "error"
    summary_line: str  # e.g. "accuracy 0.953 (+0.012 vs champion), 3/3 gates passed"
    model_name: str | None
    task: str | None
    repository: str | None
    sha: str | None
    pr: int | None
    champion_version: int | None
    champion_error: str | None
    cached_from: str | None
    mlflow_run_id: str | None
    error: str | None
    error_kind: str | None
    log_tail: list[str]
    metrics: list[MetricRow]
    gates: list[GateRow]
    slices: list[SliceRow]
    classification: ClassificationPlots | None
    regression: RegressionPlots | None
    history: list[HistoryPoint]
    links: Links
    outcome: str | None  # production only, e.g. "promoted as version 7"
    environment: NotRequired[str | None]  # which environment the job ran in, e.g. "requirements.txt (…)"
