"""`.modelgate.yml` parsing: the example, every kind of broken file, the hash and the JSON Schema."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pipelines.config import (
    CONFIG_FILE,
    ConfigError,
    CustomMetric,
    GateRule,
    config_json_schema,
    load_config,
    parse_config,
)
from tests.fixtures.config_cases import BROKEN, DELETE, EXAMPLE, EXAMPLE_DATA, STAGING0, variant

GOLDEN_SCHEMA = Path(__file__).parent / "golden" / "config.schema.json"
EXAMPLE_PROJECT = Path(__file__).parents[2] / "pipelines" / "examples" / "wine-classifier"

def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value) == "\n".join(caught.value.messages)
    return caught.value.messages


def test_the_example_parses() -> None:
    config = parse_config(EXAMPLE)
    assert (config.model.name, config.model.task, config.model.train) == (
        "wine-classifier",
        "classification",
        "model:train",
    )
    assert (config.data.staging, config.data.production) == ("data:load_staging", "data:load_production")
    assert config.metric_names() == ["accuracy", "f1_macro", "roc_auc"]
    assert [(gate.metric, gate.rule, gate.threshold) for gate in config.gates.staging] == [
        ("accuracy", "min", 0.85),
        ("f1_macro", "max_regression", 0.02),
    ]
    assert [(gate.metric, gate.rule, gate.threshold) for gate in config.gates.production] == [
        ("accuracy", "min", 0.9),
        ("f1_macro", "must_beat", 0.0),
    ]
    assert (config.timeout_seconds, config.run_on_draft) == (900, True)


def test_defaults_and_custom_metrics() -> None:
    custom = {"name": "mape", "function": "metrics.custom:mape", "higher_is_better": False}
    model = {"name": "house-prices", "task": "regression", "train": "model:train"}
    config = parse_config(
        yaml.safe_dump({"model": model, "data": EXAMPLE_DATA["data"], "metrics": ["rmse", custom]})
    )
    assert config.metric_names() == ["rmse", "mape"]
    assert config.metrics[1] == CustomMetric(
        name="mape", function="metrics.custom:mape", higher_is_better=False
    )
    assert (config.gates.staging, config.gates.production) == ([], [])
    assert (config.timeout_seconds, config.run_on_draft) == (900, True)


def test_the_demo_project_config_loads() -> None:
    assert load_config(EXAMPLE_PROJECT).model.name == "wine-classifier"


@pytest.mark.parametrize(
    ("gate", "rule", "threshold"),
    [
        ({"min": 0.85}, "min", 0.85),
        ({"max": 1}, "max", 1.0),
        ({"max_regression": 0.02, "significant": True}, "max_regression", 0.02),
        ({"must_beat": 0}, "must_beat", 0.0),
        ({"max_slice_regression": 0.05, "slice": "region"}, "max_slice_regression", 0.05),
    ],
)
def test_gate_rule_kind_and_threshold(gate: dict[str, Any], rule: str, threshold: float) -> None:
    parsed = GateRule.model_validate({"metric": "accuracy", **gate})
    assert (parsed.rule, parsed.threshold) == (rule, threshold)
    assert isinstance(parsed.threshold, float)


SLICED = """\
slices:
  - {name: region, column: region}
  - {name: big_orders, function: "slices:big_orders"}
"""


def test_slices_and_slice_gates_parse() -> None:
    text = EXAMPLE.replace(
        "    - {metric: f1_macro, max_regression: 0.02}\n",
        "    - {metric: f1_macro, max_regression: 0.02, significant: true}\n"
        "    - {metric: f1_macro, max_slice_regression: 0.05}\n"
        "    - {metric: accuracy, max_slice_regression: 0.1, slice: region, min_rows: 20}\n",
    ) + SLICED
    config = parse_config(text)
    assert [(s.name, s.column, s.function) for s in config.slices] == [
        ("region", "region", None),
        ("big_orders", None, "slices:big_orders"),
    ]
    significant, every_slice, one_slice = config.gates.staging[1:]
    assert (significant.rule, significant.significant) == ("max_regression", True)
    assert (every_slice.rule, every_slice.threshold, every_slice.slice, every_slice.min_rows) == (
        "max_slice_regression", 0.05, None, 10,
    )
    assert (one_slice.slice, one_slice.min_rows) == ("region", 20)
    assert parse_config(EXAMPLE).slices == []
    jsonschema.Draft202012Validator(config_json_schema()).validate(yaml.safe_load(text))


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_configs_name_every_problem(text: str, expected: list[str]) -> None:
    assert errors_of(text) == [f"{CONFIG_FILE}: {message}" for message in expected]


def test_source_names_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^sub/.modelgate.yml: the file is empty"):
        parse_config("", source="sub/.modelgate.yml")


def test_load_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.messages == [".modelgate.yml: not found at the repository root"]
    (tmp_path / CONFIG_FILE).write_bytes(b"model: \xff\n")
    with pytest.raises(
        ConfigError, match=r"^\.modelgate\.yml: not valid UTF-8 \(invalid start byte at byte 7\)$"
    ):
        load_config(tmp_path)
    (tmp_path / CONFIG_FILE).write_text(EXAMPLE)
    assert load_config(tmp_path) == parse_config(EXAMPLE)


def reorder(value: Any) -> Any:
    """The same data with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reorder(value[key]) for key in reversed(value)}
    return [reorder(item) for item in value] if isinstance(value, list) else value


def test_config_hash_ignores_key_order_and_spelt_out_defaults() -> None:
    expected = parse_config(EXAMPLE).config_hash()
    assert len(expected) == 64 and int(expected, 16) >= 0
    assert parse_config(yaml.safe_dump(reorder(EXAMPLE_DATA), sort_keys=False)).config_hash() == expected
    assert parse_config(variant("timeout_seconds", DELETE)).config_hash() == expected
    assert parse_config(variant("run_on_draft", True)).config_hash() == expected


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("model.name", "wine-classifier-2"),
        ("data.staging", "data:load_other"),
        ("metrics", ["f1_macro", "accuracy", "roc_auc"]),
        ("gates.staging.0.min", 0.86),
        ("gates.production.1.significant", True),
        ("slices", [{"name": "region", "column": "region"}]),
        ("timeout_seconds", 901),
        ("run_on_draft", False),
    ],
)
def test_config_hash_changes_with_any_value(path: str, value: Any) -> None:
    assert parse_config(variant(path, value)).config_hash() != parse_config(EXAMPLE).config_hash()


def test_json_schema_accepts_the_example_and_rejects_broken_ones() -> None:
    validator = jsonschema.Draft202012Validator(config_json_schema())
    validator.check_schema(validator.schema)
    validator.validate(EXAMPLE_DATA)
    for text in (
        variant(STAGING0, {"metric": "accuracy", "min": 0.8, "max": 0.9}),
        variant(STAGING0, {"metric": "accuracy"}),
        variant("model.train", "train.py"),
        variant("colour", "blue"),
        variant("metrics", []),
        variant("slices", [{"name": "region"}]),
        variant("slices", [{"name": "region", "column": "region", "function": "m:f"}]),
        variant(STAGING0, {"metric": "accuracy", "max_slice_regression": -0.1}),
    ):
        assert not validator.is_valid(yaml.safe_load(text)), text


def undocumented(node: Any, path: str = "#") -> list[str]:
    """Paths of object schemas without a description and of fields without a title or a description."""
    if not isinstance(node, dict):
        return []
    missing = [path] if "properties" in node and "description" not in node else []
    missing += [
        f"{path}.{name}"
        for name, prop in node.get("properties", {}).items()
        if not {"title", "description"} <= set(prop)
    ]
    return missing + [miss for key, child in node.items() for miss in undocumented(child, f"{path}/{key}")]


def test_json_schema_documents_every_field() -> None:
    assert undocumented(config_json_schema()) == []


def test_json_schema_matches_the_golden_file() -> None:
    assert json.loads(GOLDEN_SCHEMA.read_text()) == config_json_schema(), (
        "the configuration's JSON Schema changed; regenerate the golden file with\n"
        "    python -m pipelines.config > tests/pipelines/golden/config.schema.json"
    )
