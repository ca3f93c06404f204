"""The check-run summary (bot/feedback/messages.py's input) and the shared cell helpers."""

from __future__ import annotations

import math

from reports.checks import (
    CHECK_TEXT_LIMIT,
    check_summary,
    check_title,
    code,
    condition,
    fmt,
    fmt_delta,
    plain,
)


def _result(**extra: object) -> dict[str, object]:
    base = {"status": "passed", "kind": "staging", "champion_version": 3,
            "metrics": {"candidate": {"accuracy": 0.95, "rmse": 1.5},
                        "champion": {"accuracy": 0.9, "rmse": 2.0}},
            "higher_is_better": {"accuracy": True, "rmse": False},
            "gates": [{"metric": "accuracy", "rule": "min", "threshold": 0.85, "candidate": 0.95,
                       "champion": 0.9, "passed": True, "reason": "accuracy 0.950 >= 0.85"}]}
    return {**base, **extra}


def test_check_summary_shows_metrics_and_gates() -> None:
    summary = check_summary(_result(), "accuracy 0.950")
    assert summary.startswith("**Gates passed: accuracy 0.950**")
    assert "Compared with the champion, version 3" in summary
    assert "| accuracy min | ≥ 0.85      |       0.950 |      0.900 | ✅ accuracy 0.950 >= 0.85 |" in summary
    assert "| rmse     |       1.500 |      2.000 |         +0.500 |" in summary


def test_check_summary_of_an_error_shows_the_log_and_fits() -> None:
    result = _result(status="error", error="boom", error_kind="data", log_tail=["x" * 2_000] * 50)
    summary = check_summary(result, "error: boom")
    assert check_title(result, "") == "Pipeline error: boom"
    assert "The staging pipeline stopped (data): boom" in summary
    assert len(summary) <= CHECK_TEXT_LIMIT and summary.endswith("characters)")


def test_cached_and_first_model_notes() -> None:
    summary = check_summary(_result(champion_version=None, cached_from="abc"), "")
    assert "No champion yet" in summary and "Reused the result of MLflow run `abc`" in summary


def test_formatting_helpers() -> None:
    assert (fmt(None), fmt(math.nan), fmt(0.12345)) == ("—", "nan", "0.123")
    assert (fmt_delta(0.0125), fmt_delta(-0.0001), fmt_delta(None)) == ("+0.013", "+0.000", "—")
    assert code("a`b") == "`` a`b ``" and code("run") == "`run`"
    assert plain("f1_macro _x_ a|b") == r"f1_macro \_x\_ a\|b"
    assert [condition(r, 0.02) for r in ("min", "max", "max_regression", "must_beat")] == [
        "≥ 0.02", "≤ 0.02", "Δ ≥ -0.02", "Δ ≥ 0.02"]
    assert condition("must_beat", 0.0, significant=True) == "Δ > 0 (significant)"
    assert (condition("max_regression", 0.0), condition("max_slice_regression", 0.0)) == (
        "Δ ≥ 0", "every slice Δ ≥ 0")  # no regression allowed: not "-0"
