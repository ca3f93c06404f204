"""Gates as tables: every rule x {pass, fail, boundary, no champion, lower-is-better, missing, NaN}."""

import math
from types import SimpleNamespace
from typing import Any

import pytest

from pipelines.config import GateRule
from pipelines.gates import GateDecision, GateResult, Verdict, delta, evaluate_gates

NAN = float("nan")
DIRECTIONS = {"accuracy": True, "f1_macro": True, "rmse": False}
ALMOST_085 = math.nextafter(0.85, 0.0)  # one ulp below: equal to 0.85 within the tolerance
ALMOST_030 = 0.1 + 0.2  # 0.30000000000000004


def gate(metric: str, **rule: float) -> GateRule:
    return GateRule(metric=metric, **rule)


def judge(rule: GateRule, candidate: dict[str, float], champion: dict[str, float] | None) -> GateResult:
    decision = evaluate_gates([rule], candidate, champion, DIRECTIONS)
    assert decision.total == 1
    return decision.results[0]


CHAMP = {"accuracy": 0.9, "f1_macro": 0.93, "rmse": 0.42}
MIN, MAX = gate("accuracy", min=0.85), gate("rmse", max=0.5)
REGRESS, REGRESS_RMSE = gate("f1_macro", max_regression=0.02), gate("rmse", max_regression=0.05)
BEAT, BEAT_RMSE = gate("f1_macro", must_beat=0), gate("rmse", must_beat=0)
MARGIN, MARGIN_RMSE = gate("f1_macro", must_beat=0.01), gate("rmse", must_beat=0.01)
F1_VS, RMSE_VS = "than the champion's 0.930", "than the champion's 0.420"
NO_CHAMPION = "no champion yet: judged by absolute gates alone"
SKIPPED = "the champion has no f1_macro value: relative gate skipped"

# (id, rule, candidate value of the rule's metric, champion metrics, passed, reason)
CASES: list[tuple[str, GateRule, float, dict[str, float] | None, bool, str]] = [
    ("min pass", MIN, 0.953, CHAMP, True, "accuracy 0.953 >= 0.85"),
    ("min fail", MIN, 0.84, CHAMP, False, "accuracy 0.840 < 0.85"),
    ("min equal", MIN, 0.85, None, True, "accuracy 0.850 >= 0.85"),
    ("min equal after arithmetic", MIN, ALMOST_085, None, True, "accuracy 0.850 >= 0.85"),
    ("min near miss shows digits", MIN, 0.8499, None, False, "accuracy 0.8499 < 0.85"),
    ("min ignores the champion", MIN, 0.86, {"accuracy": 0.99}, True, "accuracy 0.860 >= 0.85"),
    ("min on lower-is-better", gate("rmse", min=0.1), 0.05, None, False, "rmse 0.050 < 0.1"),
    ("max pass", MAX, 0.4, CHAMP, True, "rmse 0.400 <= 0.5"),
    ("max fail", MAX, 0.62, CHAMP, False, "rmse 0.620 > 0.5"),
    ("max equal", MAX, 0.5, None, True, "rmse 0.500 <= 0.5"),
    ("max equal after arithmetic", gate("rmse", max=0.3), ALMOST_030, None, True, "rmse 0.300 <= 0.3"),
    ("max on higher-is-better", gate("accuracy", max=0.99), 1.0, None, False, "accuracy 1.000 > 0.99"),
    ("regression better", REGRESS, 0.935, CHAMP, True,
     f"f1_macro 0.935 is 0.005 better {F1_VS} (max regression 0.02)"),
    ("regression equal", REGRESS, 0.93, CHAMP, True,
     "f1_macro 0.930 equals the champion's 0.930 (max regression 0.02)"),
    ("regression within", REGRESS, 0.92, CHAMP, True,
     f"f1_macro 0.920 is 0.010 worse {F1_VS} (max regression 0.02)"),
    ("regression at the limit", REGRESS, 0.91, CHAMP, True,
     f"f1_macro 0.910 is 0.020 worse {F1_VS} (max regression 0.02)"),
    ("regression too large", REGRESS, 0.9, CHAMP, False,
     f"f1_macro 0.900 is 0.030 worse {F1_VS} (max regression 0.02)"),
    ("regression just over shows digits", REGRESS, 0.9099, CHAMP, False,
     f"f1_macro 0.910 is 0.0201 worse {F1_VS} (max regression 0.02)"),
    ("regression of zero allowed", gate("f1_macro", max_regression=0), 0.93, CHAMP, True,
     "f1_macro 0.930 equals the champion's 0.930 (max regression 0)"),
    ("regression lower-is-better within", REGRESS_RMSE, 0.45, CHAMP, True,
     f"rmse 0.450 is 0.030 worse {RMSE_VS} (max regression 0.05)"),
    ("regression lower-is-better better", REGRESS_RMSE, 0.4, CHAMP, True,
     f"rmse 0.400 is 0.020 better {RMSE_VS} (max regression 0.05)"),
    ("regression lower-is-better fail", REGRESS_RMSE, 0.5, CHAMP, False,
     f"rmse 0.500 is 0.080 worse {RMSE_VS} (max regression 0.05)"),
    ("regression no champion", REGRESS, 0.1, None, True, NO_CHAMPION),
    ("regression champion lacks the metric", REGRESS, 0.1, {"accuracy": 0.9}, True, SKIPPED),
    ("regression champion NaN", REGRESS, 0.1, {"f1_macro": NAN}, True, SKIPPED),
    ("beat pass", BEAT, 0.931, CHAMP, True,
     f"f1_macro 0.931 is 0.001 better {F1_VS} (must be strictly better)"),
    ("beat tie", BEAT, 0.93, CHAMP, False,
     "f1_macro 0.930 equals the champion's 0.930 (must be strictly better)"),
    ("beat tie after arithmetic", gate("accuracy", must_beat=0), ALMOST_030, {"accuracy": 0.3}, False,
     "accuracy 0.300 equals the champion's 0.300 (must be strictly better)"),
    ("beat worse", BEAT, 0.92, CHAMP, False,
     f"f1_macro 0.920 is 0.010 worse {F1_VS} (must be strictly better)"),
    ("beat tiny win shows digits", BEAT, 0.93001, CHAMP, True,
     "f1_macro 0.93001 is 0.00001 better than the champion's 0.93000 (must be strictly better)"),
    ("beat lower-is-better", BEAT_RMSE, 0.41, CHAMP, True,
     f"rmse 0.410 is 0.010 better {RMSE_VS} (must be strictly better)"),
    ("beat lower-is-better fail", BEAT_RMSE, 0.43, CHAMP, False,
     f"rmse 0.430 is 0.010 worse {RMSE_VS} (must be strictly better)"),
    ("beat no champion", BEAT, 0.5, None, True, NO_CHAMPION),
    ("beat champion lacks the metric", BEAT, 0.5, {"accuracy": 0.9}, True, SKIPPED),
    ("margin pass", MARGIN, 0.945, CHAMP, True,
     f"f1_macro 0.945 is 0.015 better {F1_VS} (must be at least 0.01 better)"),
    ("margin exactly", MARGIN, 0.94, CHAMP, True,
     f"f1_macro 0.940 is 0.010 better {F1_VS} (must be at least 0.01 better)"),
    ("margin too small", MARGIN, 0.935, CHAMP, False,
     f"f1_macro 0.935 is 0.005 better {F1_VS} (must be at least 0.01 better)"),
    ("margin worse", MARGIN, 0.92, CHAMP, False,
     f"f1_macro 0.920 is 0.010 worse {F1_VS} (must be at least 0.01 better)"),
    ("margin lower-is-better exactly", MARGIN_RMSE, 0.41, CHAMP, True,
     f"rmse 0.410 is 0.010 better {RMSE_VS} (must be at least 0.01 better)"),
    ("margin lower-is-better fail", MARGIN_RMSE, 0.415, CHAMP, False,
     f"rmse 0.415 is 0.005 better {RMSE_VS} (must be at least 0.01 better)"),
    ("margin no champion", MARGIN, 0.5, None, True, NO_CHAMPION),
    ("margin champion NaN", MARGIN, 0.5, {"f1_macro": NAN}, True, SKIPPED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "value", "champion", "passed", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_rule(
    rule: GateRule, value: float, champion: dict[str, float] | None, passed: bool, reason: str
) -> None:
    result = judge(rule, {rule.metric: value}, champion)
    assert (result.passed, result.reason) == (passed, reason)
    assert (result.metric, result.rule, result.threshold) == (rule.metric, rule.rule, rule.threshold)
    assert result.candidate == value
    assert result.champion is (None if champion is None else champion.get(rule.metric))


ALL_KINDS = [
    gate("f1_macro", min=0.5),
    gate("f1_macro", max=0.5),
    gate("f1_macro", max_regression=0.5),
    gate("f1_macro", must_beat=0.5),
]


@pytest.mark.parametrize("champion", [CHAMP, None], ids=["champion", "no champion"])
@pytest.mark.parametrize("rule", ALL_KINDS, ids=lambda rule: rule.rule)
def test_a_metric_missing_from_the_candidate_fails(rule: GateRule, champion: dict[str, float] | None) -> None:
    result = judge(rule, {"accuracy": 0.9}, champion)
    assert (result.passed, result.reason, result.candidate) == (
        False,
        "f1_macro was not computed for the candidate",
        None,
    )


@pytest.mark.parametrize("champion", [CHAMP, None], ids=["champion", "no champion"])
@pytest.mark.parametrize("rule", ALL_KINDS, ids=lambda rule: rule.rule)
def test_a_nan_candidate_fails(rule: GateRule, champion: dict[str, float] | None) -> None:
    result = judge(rule, {"f1_macro": NAN}, champion)
    assert (result.passed, result.reason) == (False, "f1_macro is NaN for the candidate")
    assert result.candidate is not None and math.isnan(result.candidate)


def test_a_relative_rule_needs_the_metric_direction() -> None:
    with pytest.raises(
        ValueError, match=r"^direction of metric 'custom' unknown: add it to higher_is_better$"
    ):
        evaluate_gates([gate("custom", must_beat=0)], {"custom": 1.0}, {"custom": 0.5}, DIRECTIONS)


def test_an_unknown_rule_kind_is_a_bug() -> None:
    bogus: Any = SimpleNamespace(metric="accuracy", rule="median", threshold=0.5)
    with pytest.raises(AssertionError):
        evaluate_gates([bogus], {"accuracy": 0.9}, None, DIRECTIONS)


@pytest.mark.parametrize(
    ("candidate", "verdict", "passed_count", "failed_metrics"),
    [
        ({"accuracy": 0.95, "f1_macro": 0.94, "rmse": 0.3}, Verdict.PASSED, 3, []),
        ({"accuracy": 0.95, "f1_macro": 0.90, "rmse": 0.3}, Verdict.FAILED, 2, ["f1_macro"]),
        ({"accuracy": 0.80, "rmse": 0.6}, Verdict.FAILED, 0, ["accuracy", "f1_macro", "rmse"]),
    ],
)
def test_decision_counts_and_verdict(
    candidate: dict[str, float], verdict: Verdict, passed_count: int, failed_metrics: list[str]
) -> None:
    rules = [gate("accuracy", min=0.85), gate("f1_macro", max_regression=0.02), gate("rmse", max=0.5)]
    decision = evaluate_gates(rules, candidate, CHAMP, DIRECTIONS)
    assert (decision.verdict, decision.passed_count, decision.total) == (verdict, passed_count, 3)
    assert [result.metric for result in decision.failures()] == failed_metrics
    assert [result.metric for result in decision.results] == ["accuracy", "f1_macro", "rmse"]


def test_no_rules_pass() -> None:
    decision = evaluate_gates([], {}, None, {})
    assert decision == GateDecision(Verdict.PASSED, ())
    assert (decision.passed_count, decision.total, decision.failures()) == (0, 0, ())


def test_result_as_dict_and_verdict_strings() -> None:
    result = judge(gate("accuracy", min=0.85), {"accuracy": 0.9}, {"accuracy": 0.8})
    assert result.as_dict() == {
        "metric": "accuracy",
        "rule": "min",
        "threshold": 0.85,
        "candidate": 0.9,
        "champion": 0.8,
        "passed": True,
        "reason": "accuracy 0.900 >= 0.85",
    }
    assert (str(Verdict.PASSED), str(Verdict.FAILED)) == ("passed", "failed")


@pytest.mark.parametrize(
    ("higher_is_better", "candidate", "champion", "expected"),
    [
        (True, 0.9, 0.8, 0.1),
        (True, 0.8, 0.9, -0.1),
        (False, 0.3, 0.5, 0.2),
        (False, 0.5, 0.3, -0.2),
        (True, 1, 1, 0),
    ],
)
def test_delta_is_the_signed_improvement(
    higher_is_better: bool, candidate: float, champion: float, expected: float
) -> None:
    assert delta(higher_is_better, candidate, champion) == pytest.approx(expected, abs=1e-12)
