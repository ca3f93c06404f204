"""Report inputs for the golden files, the plot tests and the bench (deterministic, no randomness).

``make_report(**overrides)`` gives a passing staging report of the wine classifier with a
champion; each case overrides what it is about. ``CASES`` maps a golden file's name to its input.
"""

from __future__ import annotations

import math
from typing import Any, cast

from reports.types import (
    ClassificationPlots,
    Curve,
    GateRow,
    HistoryPoint,
    Links,
    MetricRow,
    RegressionPlots,
    ReportData,
    SliceRow,
)

IMAGE_BASE = "https://modelgate.example/reports/0123456789abcdef0123456789abcdef/"
SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
LABELS = ["class_0", "class_1", "class_2"]


def metric(name: str, candidate: float | None, champion: float | None, ci: float | None = 0.02,
           higher_is_better: bool = True) -> MetricRow:
    """A metric row; delta and a CI of ± ``ci`` around it follow from the values."""
    delta = None
    if candidate is not None and champion is not None:
        delta = round(candidate - champion if higher_is_better else champion - candidate, 6)
    low = None if delta is None or ci is None else round(delta - ci, 6)
    high = None if delta is None or ci is None else round(delta + ci, 6)
    return MetricRow(name=name, higher_is_better=higher_is_better, candidate=candidate, champion=champion,
                     delta=delta, ci_low=low, ci_high=high)


def gate(metric_name: str, rule: str, threshold: float, candidate: float | None, champion: float | None,
         passed: bool, reason: str, **extra: Any) -> GateRow:
    """A gate row; ``extra`` sets significant, ci_low, ci_high or slice."""
    row = GateRow(metric=metric_name, rule=rule, threshold=threshold, candidate=candidate, champion=champion,
                  passed=passed, reason=reason, significant=False, ci_low=None, ci_high=None, slice=None)
    return cast(GateRow, {**row, **extra})


def curve(power: float, points: int = 25, pr: bool = False) -> Curve:
    """A smooth ROC-like (y = x ** power) or precision-recall-like curve with its trapezoid AUC."""
    xs = [i / (points - 1) for i in range(points)]
    if pr:
        xs = xs[::-1]
        ys = [round(1 - 0.6 * x ** (1 / power), 6) for x in xs]
    else:
        ys = [round(x**power, 6) for x in xs]
    area = abs(sum((xs[i + 1] - xs[i]) * (ys[i + 1] + ys[i]) / 2 for i in range(points - 1)))
    return Curve(x=[round(x, 6) for x in xs], y=ys, auc=round(area, 6))


def classification(champion: bool = True) -> ClassificationPlots:
    """54 evaluation rows of three wine classes."""
    return ClassificationPlots(
        labels=list(LABELS),
        confusion_candidate=[[18, 1, 0], [1, 20, 0], [0, 0, 14]],
        confusion_champion=[[17, 2, 0], [2, 17, 2], [0, 1, 13]] if champion else None,
        roc={"candidate": curve(0.08), "champion": curve(0.15) if champion else None},
        pr={"candidate": curve(0.1, pr=True), "champion": curve(0.2, pr=True) if champion else None},
    )


def regression(rows: int = 60) -> RegressionPlots:
    """Deterministic wobbly predictions of a smooth target."""
    truth = [round(20 + 10 * math.sin(i / 7), 4) for i in range(rows)]
    return RegressionPlots(
        y_true=truth,
        candidate=[round(t + 1.5 * math.sin(i * 1.7), 4) for i, t in enumerate(truth)],
        champion=[round(t + 2.5 * math.cos(i * 1.1), 4) for i, t in enumerate(truth)],
    )


def history(metrics: dict[str, list[float]]) -> list[HistoryPoint]:
    """Promoted versions 3, 4, … with one value per metric each, a week apart."""
    return [HistoryPoint(version=3 + i, when=f"2026-10-{1 + 7 * i:02d}T09:30:00Z", metric=name, value=value)
            for name, values in metrics.items() for i, value in enumerate(values)]


def links(**overrides: str | None) -> Links:
    """Every link set, to a fake MLflow and the bot's report files."""
    base = Links(mlflow_run="https://mlflow.example/#/experiments/1/runs/9f8e7d6c",
                 log=f"{IMAGE_BASE}pipeline.log.txt",
                 commit=f"https://github.com/octo/wine/commit/{SHA}",
                 full_report=f"{IMAGE_BASE}report.md")
    return cast(Links, {**base, **overrides})


def make_report(**overrides: Any) -> ReportData:
    """A passing staging report of the wine classifier against champion version 6."""
    data = ReportData(
        kind="staging", status="passed",
        summary_line="accuracy 0.963 (+0.056 vs champion), 3/3 gates passed",
        model_name="wine-classifier", task="classification", repository="octo/wine", sha=SHA, pr=12,
        champion_version=6, champion_error=None, cached_from=None, mlflow_run_id="9f8e7d6c",
        error=None, error_kind=None, log_tail=[],
        metrics=[metric("accuracy", 0.962963, 0.888889, 0.045), metric("f1_macro", 0.963492, 0.885714, 0.05),
                 metric("roc_auc", 0.992126, 0.981366, 0.01)],
        gates=[
            gate("accuracy", "min", 0.85, 0.962963, 0.888889, True, "accuracy 0.963 >= 0.85"),
            gate("f1_macro", "max_regression", 0.02, 0.963492, 0.885714, True,
                 "f1_macro 0.963 is 0.078 better than the champion's 0.886 (max regression 0.02)"),
            gate("roc_auc", "must_beat", 0.0, 0.992126, 0.981366, True,
                 "roc_auc 0.992 is 0.011 better than the champion's 0.981 (must be strictly better)",
                 significant=True, ci_low=0.00076, ci_high=0.02076),
        ],
        slices=[
            SliceRow(slice="region", value="north", rows=20, metric="accuracy", candidate=0.95, champion=0.9,
                     delta=0.05),
            SliceRow(slice="region", value="south", rows=34, metric="accuracy", candidate=0.970588,
                     champion=0.882353, delta=0.088235),
            SliceRow(slice="alcohol", value="> 13%", rows=25, metric="accuracy", candidate=0.96,
                     champion=0.96, delta=0.0),
        ],
        classification=classification(), regression=None,
        history=history({"accuracy": [0.851852, 0.87037, 0.888889, 0.888889],
                         "f1_macro": [0.84, 0.866, 0.879, 0.885714]}),
        links=links(), outcome=None,
    )
    return cast(ReportData, {**data, **overrides})


def regression_report() -> ReportData:
    """A production run of a regressor that beat its champion and was promoted."""
    return make_report(
        kind="production", model_name="house-prices", task="regression", repository="octo/houses",
        summary_line="rmse 1.061 (+0.707 vs champion), 2/2 gates passed", outcome="promoted as version 7",
        metrics=[metric("rmse", 1.061, 1.768, 0.2, higher_is_better=False),
                 metric("mae", 0.955, 1.571, 0.15, higher_is_better=False), metric("r2", 0.981, 0.947, 0.01)],
        gates=[gate("rmse", "max", 2.0, 1.061, 1.768, True, "rmse 1.061 <= 2"),
               gate("rmse", "must_beat", 0.0, 1.061, 1.768, True,
                    "rmse 1.061 is 0.707 better than the champion's 1.768 (must be strictly better)")],
        slices=[], classification=None, regression=regression(),
        links=links(commit=f"https://github.com/octo/houses/commit/{SHA}"),
        history=history({"rmse": [2.31, 2.05, 1.9, 1.768]}),
    )


def first_model_report() -> ReportData:
    """The first model of a project: no champion, judged by absolute gates alone."""
    return make_report(
        summary_line="accuracy 0.963 (first model), 2/2 gates passed", champion_version=None,
        metrics=[metric("accuracy", 0.962963, None), metric("f1_macro", 0.963492, None)],
        gates=[gate("accuracy", "min", 0.85, 0.962963, None, True, "accuracy 0.963 >= 0.85"),
               gate("f1_macro", "max_regression", 0.02, 0.963492, None, True,
                    "no champion yet: judged by absolute gates alone")],
        slices=[], classification=classification(champion=False), history=[],
        links=links(full_report=None, log=None),
    )


def failed_report() -> ReportData:
    """Production gates failed: not significantly better, a slice regressed; odd metric names."""
    return make_report(
        kind="production", status="failed", outcome="not promoted: f1_macro did not beat the champion",
        summary_line="accuracy 0.889 (-0.019 vs champion), 1/3 gates passed", champion_version=6,
        cached_from="5c4b3a29", mlflow_run_id="5c4b3a29",
        metrics=[metric("accuracy", 0.888889, 0.907407, 0.04), metric("f1_macro", 0.9012, 0.8977, 0.03),
                 metric("top|k *recall*", 0.75, None, None)],
        gates=[
            gate("accuracy", "min", 0.85, 0.888889, 0.907407, True, "accuracy 0.889 >= 0.85"),
            gate("f1_macro", "must_beat", 0.0, 0.9012, 0.8977, False,
                 "f1_macro 0.901 is 0.004 better than the champion's 0.898, but not significantly",
                 significant=True, ci_low=-0.0265, ci_high=0.0335),
            gate("accuracy", "max_slice_regression", 0.05, 0.8, 0.9, False,
                 "accuracy on region=north is 0.100 worse than the champion's (max 0.05)",
                 slice="region=north"),
        ],
        slices=[
            SliceRow(slice="region", value="north", rows=20, metric="accuracy", candidate=0.8, champion=0.9,
                     delta=-0.1),
            SliceRow(slice="region", value="south", rows=34, metric="accuracy", candidate=0.941176,
                     champion=0.911765, delta=0.029412),
            SliceRow(slice="region", value="<unknown>", rows=0, metric="accuracy", candidate=None,
                     champion=None, delta=None),
        ],
        links=links(log=None, mlflow_run=None),
    )


def error_report() -> ReportData:
    """The training step crashed: the error and the log's last 50 of 80 lines, no plots."""
    tail = [f"2026-11-25 10:00:{i:02d} INFO epoch {i}: loss={1 / (i + 1):.4f}" for i in range(78)]
    tail += ["```", "ValueError: could not convert string to float: 'n/a' <in column `pH`>"]
    return make_report(
        status="error", summary_line="error: ValueError: could not convert string to float: 'n/a'",
        error="ValueError: could not convert string to float: 'n/a' <in column `pH`>", error_kind="train",
        log_tail=tail, metrics=[], gates=[], slices=[], classification=None, history=[],
        links=links(full_report=None),
    )


def truncated_report(rows: int = 5_000) -> ReportData:
    """A report far over GitHub's comment limit: ``rows`` slice rows."""
    slices = []
    for i in range(rows):
        candidate = round(0.9 + 0.05 * math.sin(i * 0.7), 6)
        champion = round(0.9 + 0.05 * math.cos(i * 1.3), 6)
        slices.append(SliceRow(slice="store", value=f"store-{i:04d}", rows=10 + i % 90, metric="accuracy",
                               candidate=candidate, champion=champion, delta=round(candidate - champion, 6)))
    return make_report(slices=slices)


CASES = {
    "classification": make_report(),
    "regression": regression_report(),
    "first_model": first_model_report(),
    "failed_gates": failed_report(),
    "error": error_report(),
    "truncated": truncated_report(),
}
