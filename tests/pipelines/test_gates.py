"""Gates as tables: every rule x {pass, fail, boundary, no champion, lower-is-better, missing, NaN},
significant gates on CI bounds, and slice gates on the worst slice."""

import math
from types import SimpleNamespace
from typing import Any

import pytest

from pipelines.config import GateRule
from pipelines.gates import NO_CHAMPION, GateDecision, GateResult, Verdict, delta, evaluate_gates
from pipelines.slices import SliceRow

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
        "significant": False,
        "ci_low": None,
        "ci_high": None,
        "slice": None,
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


MINUS = "\u2212"
SIG_BEAT = gate("f1_macro", must_beat=0, significant=True)
SIG_MARGIN = gate("f1_macro", must_beat=0.01, significant=True)
SIG_REGRESS = gate("f1_macro", max_regression=0.02, significant=True)
SIG_REGRESS_RMSE = gate("rmse", max_regression=0.05, significant=True)
F1_945 = "f1_macro 0.945 vs the champion's 0.930: improvement +0.015"

# (id, rule, candidate value, champion metrics, CI of the improvement, passed, reason)
Interval = tuple[float, float] | None
SIGNIFICANT: list[tuple[str, GateRule, float, dict[str, float] | None, Interval, bool, str]] = [
    ("beat: CI above 0", SIG_BEAT, 0.945, CHAMP, (0.004, 0.03), True,
     f"{F1_945}, 95% CI [+0.004, +0.030], judged on the CI low bound (must be strictly better)"),
    ("beat: better, but the CI reaches below 0", SIG_BEAT, 0.945, CHAMP, (-0.005, 0.03), False,
     f"{F1_945}, 95% CI [{MINUS}0.005, +0.030], judged on the CI low bound (must be strictly better)"),
    ("beat: CI starting at exactly 0", SIG_BEAT, 0.945, CHAMP, (0.0, 0.03), False,
     f"{F1_945}, 95% CI [0.000, +0.030], judged on the CI low bound (must be strictly better)"),
    ("margin: CI low above the margin", SIG_MARGIN, 0.945, CHAMP, (0.012, 0.02), True,
     f"{F1_945}, 95% CI [+0.012, +0.020], judged on the CI low bound (must be at least 0.01 better)"),
    ("margin: CI low at the margin", SIG_MARGIN, 0.945, CHAMP, (0.01, 0.02), True,
     f"{F1_945}, 95% CI [+0.010, +0.020], judged on the CI low bound (must be at least 0.01 better)"),
    ("margin: point above, CI low below the margin", SIG_MARGIN, 0.945, CHAMP, (0.008, 0.02), False,
     f"{F1_945}, 95% CI [+0.008, +0.020], judged on the CI low bound (must be at least 0.01 better)"),
    ("regression: CI low within the limit", SIG_REGRESS, 0.925, CHAMP, (-0.015, 0.004), True,
     f"f1_macro 0.925 vs the champion's 0.930: improvement {MINUS}0.005, 95% CI [{MINUS}0.015, +0.004], "
     "judged on the CI low bound (max regression 0.02)"),
    ("regression: point better, CI low past the limit", SIG_REGRESS, 0.935, CHAMP, (-0.025, 0.03), False,
     f"f1_macro 0.935 vs the champion's 0.930: improvement +0.005, 95% CI [{MINUS}0.025, +0.030], "
     "judged on the CI low bound (max regression 0.02)"),
    ("regression, lower is better: the CI is of the improvement", SIG_REGRESS_RMSE, 0.45, CHAMP,
     (-0.06, 0.01), False,
     f"rmse 0.450 vs the champion's 0.420: improvement {MINUS}0.030, 95% CI [{MINUS}0.060, +0.010], "
     "judged on the CI low bound (max regression 0.05)"),
    ("no interval", SIG_BEAT, 0.945, CHAMP, None, False,
     "f1_macro 0.945 vs the champion's 0.930: no confidence interval of the improvement, "
     "so it cannot be significant"),
    ("no champion", SIG_BEAT, 0.945, None, None, True, NO_CHAMPION),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "value", "champion", "interval", "passed", "reason"),
    [case[1:] for case in SIGNIFICANT],
    ids=[case[0] for case in SIGNIFICANT],
)
def test_significant_gates_judge_the_ci_low_bound(
    rule: GateRule,
    value: float,
    champion: dict[str, float] | None,
    interval: tuple[float, float] | None,
    passed: bool,
    reason: str,
) -> None:
    intervals = {} if interval is None else {rule.metric: interval}
    decision = evaluate_gates([rule], {rule.metric: value}, champion, DIRECTIONS, intervals=intervals)
    result = decision.results[0]
    assert (result.passed, result.reason) == (passed, reason)
    assert result.significant is True
    expected = interval if interval is not None and champion is not None else (None, None)
    assert (result.ci_low, result.ci_high) == expected


def test_a_plain_relative_gate_reports_the_interval_but_judges_the_point_estimate() -> None:
    intervals = {"f1_macro": (-0.05, 0.03)}
    result = evaluate_gates([REGRESS], {"f1_macro": 0.935}, CHAMP, DIRECTIONS, intervals=intervals).results[0]
    assert result.passed and not result.significant
    assert (result.ci_low, result.ci_high) == (-0.05, 0.03)
    assert result.reason == f"f1_macro 0.935 is 0.005 better {F1_VS} (max regression 0.02)"
    absolute = evaluate_gates([MIN], {"accuracy": 0.9}, CHAMP, DIRECTIONS, intervals={"accuracy": (0, 1)})
    assert (absolute.results[0].ci_low, absolute.results[0].ci_high) == (None, None)


def slice_row(value: str, candidate: float | None, champion: float | None, rows: int = 20,
              metric: str = "f1_macro", name: str = "region") -> SliceRow:
    return SliceRow(name, value, rows, metric, candidate, champion, None)


SLICES = [
    slice_row("east", 0.93, 0.93),
    slice_row("north", 0.71, 0.80),
    slice_row("south", 0.90, 0.91),
    slice_row("tiny", 0.10, 0.90, rows=3),
    slice_row("north", 0.60, 0.99, metric="accuracy"),
    slice_row("small", 0.78, 0.80, name="size"),
    slice_row("undefined", None, 0.8),
]
SLICE_GATE = gate("f1_macro", max_slice_regression=0.05)

# (id, rule, passed, reason, worst slice, candidate, champion)
SLICE_CASES: list[tuple[str, GateRule, bool, str, str | None, float | None, float | None]] = [
    ("the worst slice fails", SLICE_GATE, False,
     f"region=north: f1_macro 0.710 vs champion 0.800 ({MINUS}0.090, max 0.05)", "region=north", 0.71, 0.80),
    ("a looser limit passes, naming the worst slice", gate("f1_macro", max_slice_regression=0.1), True,
     f"region=north: f1_macro 0.710 vs champion 0.800 ({MINUS}0.090, max 0.1)", "region=north", 0.71, 0.80),
    ("min_rows lets in the tiny slice", GateRule(metric="f1_macro", max_slice_regression=0.1, min_rows=3),
     False, f"region=tiny: f1_macro 0.100 vs champion 0.900 ({MINUS}0.800, max 0.1)", "region=tiny",
     0.1, 0.9),
    ("one slice set only", GateRule(metric="f1_macro", max_slice_regression=0.05, slice="size"), True,
     f"size=small: f1_macro 0.780 vs champion 0.800 ({MINUS}0.020, max 0.05)", "size=small", 0.78, 0.80),
    ("no eligible slice", GateRule(metric="f1_macro", max_slice_regression=0.05, min_rows=1000), True,
     "no slice has 1000+ rows and f1_macro for both models: slice gate skipped", None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "passed", "reason", "worst", "candidate", "champion"),
    [case[1:] for case in SLICE_CASES],
    ids=[case[0] for case in SLICE_CASES],
)
def test_slice_gates_judge_the_worst_slice(
    rule: GateRule, passed: bool, reason: str, worst: str | None, candidate: float | None,
    champion: float | None,
) -> None:
    result = evaluate_gates([rule], {"f1_macro": 0.9}, CHAMP, DIRECTIONS, slices=SLICES).results[0]
    assert (result.passed, result.reason, result.slice) == (passed, reason, worst)
    assert (result.candidate, result.champion) == (candidate, champion)
    assert (result.rule, result.threshold) == ("max_slice_regression", rule.threshold)


def test_slice_gates_follow_the_metric_direction() -> None:
    rows = [slice_row("a", 0.5, 0.4, metric="rmse"), slice_row("b", 0.3, 0.45, metric="rmse")]
    rule = gate("rmse", max_slice_regression=0.05)
    result = evaluate_gates([rule], {"rmse": 0.4}, CHAMP, DIRECTIONS, slices=rows).results[0]
    assert not result.passed
    assert result.reason == f"region=a: rmse 0.500 vs champion 0.400 ({MINUS}0.100, max 0.05)"


def test_slice_gates_without_a_champion_or_without_slices() -> None:
    no_champion = evaluate_gates([SLICE_GATE], {"f1_macro": 0.9}, None, DIRECTIONS).results[0]
    assert (no_champion.passed, no_champion.reason, no_champion.slice) == (True, NO_CHAMPION, None)
    with pytest.raises(ValueError, match="needs the slice metrics"):
        evaluate_gates([SLICE_GATE], {"f1_macro": 0.9}, CHAMP, DIRECTIONS)
    missing = evaluate_gates([SLICE_GATE], {}, CHAMP, DIRECTIONS, slices=SLICES).results[0]
    assert (missing.passed, missing.reason) == (False, "f1_macro was not computed for the candidate")
