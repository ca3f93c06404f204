"""Gates on the model's own speed and size, as a table: lower is better, absolute rules compare the
measured value as it is, and relative rules count a candidate within the measurement tolerance of the
champion (latency 5% or 0.05 ms, size 1% or 0.01 MB) as equal, so timing noise cannot flip a tie."""

import pytest

from pipelines.config import GateRule
from pipelines.gates import NO_CHAMPION, evaluate_gates
from pipelines.model_metrics import MODEL_SIZE, PREDICT_LATENCY, model_metric_directions

DIRECTIONS = {"accuracy": True, **model_metric_directions([PREDICT_LATENCY, MODEL_SIZE])}
CHAMP = {"accuracy": 0.9, PREDICT_LATENCY: 1.0, MODEL_SIZE: 20.0}
LAT, SIZE = PREDICT_LATENCY, MODEL_SIZE
LAT_TIE = "within 5% or 0.05 ms of the champion's 1.000: counted as equal"
SIZE_TIE = "within 1% or 0.01 MB of the champion's 20.000: counted as equal"


def gate(metric: str, **rule: float) -> GateRule:
    return GateRule(metric=metric, **rule)


# (id, rule, candidate value of the rule's metric, champion metrics, passed, reason)
CASES: list[tuple[str, GateRule, float, dict[str, float] | None, bool, str]] = [
    ("latency max pass", gate(LAT, max=5), 4.2, CHAMP, True, f"{LAT} 4.200 <= 5"),
    ("latency max fail", gate(LAT, max=5), 5.3, None, False, f"{LAT} 5.300 > 5"),
    ("latency max has no tolerance", gate(LAT, max=5), 5.01, CHAMP, False, f"{LAT} 5.010 > 5"),
    ("latency min", gate(LAT, min=0.5), 0.4, None, False, f"{LAT} 0.400 < 0.5"),
    ("latency no regression, tie by noise (slower)", gate(LAT, max_regression=0), 1.04, CHAMP, True,
     f"{LAT} 1.040 is {LAT_TIE} (max regression 0)"),
    ("latency no regression, tie at the floor", gate(LAT, max_regression=0), 1.05, CHAMP, True,
     f"{LAT} 1.050 is {LAT_TIE} (max regression 0)"),
    ("latency no regression, slower", gate(LAT, max_regression=0), 1.2, CHAMP, False,
     f"{LAT} 1.200 is 0.200 worse than the champion's 1.000 (max regression 0)"),
    ("latency regression within the margin", gate(LAT, max_regression=0.5), 1.4, CHAMP, True,
     f"{LAT} 1.400 is 0.400 worse than the champion's 1.000 (max regression 0.5)"),
    ("latency regression over the margin", gate(LAT, max_regression=0.5), 1.6, CHAMP, False,
     f"{LAT} 1.600 is 0.600 worse than the champion's 1.000 (max regression 0.5)"),
    ("latency faster", gate(LAT, max_regression=0), 0.5, CHAMP, True,
     f"{LAT} 0.500 is 0.500 better than the champion's 1.000 (max regression 0)"),
    ("latency must beat, tie by noise (faster)", gate(LAT, must_beat=0), 0.96, CHAMP, False,
     f"{LAT} 0.960 is {LAT_TIE} (must be strictly better)"),
    ("latency must beat, clearly faster", gate(LAT, must_beat=0), 0.9, CHAMP, True,
     f"{LAT} 0.900 is 0.100 better than the champion's 1.000 (must be strictly better)"),
    ("latency must beat, equal", gate(LAT, must_beat=0), 1.0, CHAMP, False,
     f"{LAT} 1.000 equals the champion's 1.000 (must be strictly better)"),
    ("latency must beat by a margin, tie", gate(LAT, must_beat=0.2), 0.97, CHAMP, False,
     f"{LAT} 0.970 is {LAT_TIE} (must be at least 0.2 better)"),
    ("latency must beat by a margin, pass", gate(LAT, must_beat=0.2), 0.75, CHAMP, True,
     f"{LAT} 0.750 is 0.250 better than the champion's 1.000 (must be at least 0.2 better)"),
    ("latency no champion", gate(LAT, max_regression=0), 9.0, None, True, NO_CHAMPION),
    ("latency champion not measured", gate(LAT, max_regression=0), 9.0, {"accuracy": 0.9}, True,
     f"the champion has no {LAT} value: relative gate skipped"),
    ("size max pass", gate(SIZE, max=50), 21.5, CHAMP, True, f"{SIZE} 21.500 <= 50"),
    ("size regression, tie by bytes", gate(SIZE, max_regression=0), 20.15, CHAMP, True,
     f"{SIZE} 20.150 is {SIZE_TIE} (max regression 0)"),
    ("size regression, within the issue's margin", gate(SIZE, max_regression=10), 29.0, CHAMP, True,
     f"{SIZE} 29.000 is 9.000 worse than the champion's 20.000 (max regression 10)"),
    ("size regression, over the issue's margin", gate(SIZE, max_regression=10), 31.0, CHAMP, False,
     f"{SIZE} 31.000 is 11.000 worse than the champion's 20.000 (max regression 10)"),
    ("size must beat, tie by bytes", gate(SIZE, must_beat=0), 19.9, CHAMP, False,
     f"{SIZE} 19.900 is {SIZE_TIE} (must be strictly better)"),
    ("size must beat, smaller", gate(SIZE, must_beat=0), 15.0, CHAMP, True,
     f"{SIZE} 15.000 is 5.000 better than the champion's 20.000 (must be strictly better)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "value", "champion", "passed", "reason"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_gates_on_speed_and_size(
    rule: GateRule, value: float, champion: dict[str, float] | None, passed: bool, reason: str
) -> None:
    [result] = evaluate_gates([rule], {"accuracy": 0.95, rule.metric: value}, champion, DIRECTIONS).results
    assert (result.passed, result.reason) == (passed, reason)
    base = None if champion is None else champion.get(rule.metric)
    assert (result.candidate, result.champion) == (value, base)


def test_the_tolerance_is_only_for_measured_metrics() -> None:
    """accuracy 0.04 worse is a regression even though it is within 5%."""
    rule = gate("accuracy", max_regression=0)
    [result] = evaluate_gates([rule], {"accuracy": 0.86}, CHAMP, DIRECTIONS).results
    assert not result.passed and "0.040 worse" in result.reason


def test_the_issue_example_gates() -> None:
    rules = [gate(LAT, max=5), gate(SIZE, max_regression=10)]
    decision = evaluate_gates(rules, {LAT: 0.8, SIZE: 25.0}, CHAMP, DIRECTIONS)
    assert [result.passed for result in decision.results] == [True, True]
    slower_and_bigger = evaluate_gates(rules, {LAT: 5.5, SIZE: 30.5}, CHAMP, DIRECTIONS)
    assert [result.passed for result in slower_and_bigger.results] == [False, False]
