"""`.modelgate.yml` parsing: the example, every kind of broken file, the hash and the JSON Schema."""

import copy
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

GOLDEN_SCHEMA = Path(__file__).parent / "golden" / "config.schema.json"
EXAMPLE_PROJECT = Path(__file__).parents[2] / "pipelines" / "examples" / "wine-classifier"

EXAMPLE = """\
model:
  name: wine-classifier
  task: classification
  train: model:train
data:
  staging: data:load_staging
  production: data:load_production
metrics: [accuracy, f1_macro, roc_auc]
gates:
  staging:
    - {metric: accuracy, min: 0.85}
    - {metric: f1_macro, max_regression: 0.02}
  production:
    - {metric: accuracy, min: 0.9}
    - {metric: f1_macro, must_beat: 0.0}
timeout_seconds: 900
"""
EXAMPLE_DATA: dict[str, Any] = yaml.safe_load(EXAMPLE)
DELETE = object()


def variant(path: str, value: Any) -> str:
    """The example as YAML with one key ("gates.staging.0.min") set to value, or removed with DELETE."""
    data = copy.deepcopy(EXAMPLE_DATA)
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    node: Any = data
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return yaml.safe_dump(data)


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


STAGING0 = "gates.staging.0"
BUILTINS = "accuracy, precision_macro, recall_macro, f1_macro, roc_auc, log_loss"
GATE_KEYS = "metric, min, max, max_regression, must_beat, max_slice_regression, significant, slice, min_rows"
TOP_KEYS = ("model, data, metrics, gates, slices, timeout_seconds, run_on_draft, deploy, production, "
            "commands, require_approval")
RULES = "min, max, max_regression, must_beat, max_slice_regression"
SLICE_GATE = {"metric": "f1_macro", "max_slice_regression": 0.05}
F1_NOT_CONFIGURED = "'f1_macro' is not a configured metric (configured: accuracy, f1-macro, roc_auc)"

BROKEN: list[tuple[str, str, list[str]]] = [
    ("missing section", variant("data", DELETE), ["data: required key is missing"]),
    ("missing key", variant("model.train", DELETE), ["model.train: required key is missing"]),
    (
        "several problems at once",
        variant("model", {"name": "x", "task": "clustering"}),
        [
            "model.task: Input should be 'classification' or 'regression' (got 'clustering')",
            "model.train: required key is missing",
        ],
    ),
    (
        "wrong type",
        variant("timeout_seconds", "soon"),
        [
            "timeout_seconds: Input should be a valid integer, unable to parse string as an integer "
            "(got 'soon')"
        ],
    ),
    (
        "out of range",
        variant("timeout_seconds", 0),
        ["timeout_seconds: Input should be greater than or equal to 1 (got 0)"],
    ),
    ("section not a mapping", variant("model", "wine"), ["model: expected a mapping (got 'wine')"]),
    (
        "gates not a list",
        variant("gates.staging", {"metric": "accuracy"}),
        ["gates.staging: expected a list"],
    ),
    (
        "empty name",
        variant("model.name", ""),
        ["model.name: String should have at least 1 character (got '')"],
    ),
    (
        "unknown top-level key",
        variant("colour", "blue"),
        [f"top level: unknown key 'colour' (allowed: {TOP_KEYS})"],
    ),
    (
        "unknown gate key",
        variant(STAGING0, {"metric": "accuracy", "minimum": 0.85}),
        [f"gates.staging[0]: unknown key 'minimum' (allowed: {GATE_KEYS})"],
    ),
    (
        "boolean key",
        variant("model.yes", 1).replace("'yes'", "yes"),
        ["model: key True is not a string (quote it: YAML reads yes/no as booleans)"],
    ),
    (
        "two thresholds in one gate",
        variant(STAGING0, {"metric": "accuracy", "min": 0.8, "max": 0.99}),
        [f"gates.staging[0]: set exactly one of {RULES} (got min and max)"],
    ),
    (
        "no threshold",
        variant(STAGING0, {"metric": "accuracy"}),
        [f"gates.staging[0]: set exactly one of {RULES} (got none)"],
    ),
    (
        "significant on an absolute gate",
        variant(STAGING0, {"metric": "accuracy", "min": 0.8, "significant": True}),
        ["gates.staging[0]: significant applies only to max_regression or must_beat (got min)"],
    ),
    (
        "slice options on a non-slice gate",
        variant(STAGING0, {"metric": "accuracy", "min": 0.8, "min_rows": 5}),
        ["gates.staging[0]: slice and min_rows apply only to max_slice_regression (got min)"],
    ),
    (
        "slice gate without slices",
        variant(STAGING0, SLICE_GATE),
        ["gates.staging[0].max_slice_regression: no slices are configured (add a slices list)"],
    ),
    (
        "slice gate on an unknown slice",
        yaml.safe_dump({**EXAMPLE_DATA, "slices": [{"name": "region", "column": "region"}],
                        "gates": {"staging": [{**SLICE_GATE, "slice": "size"}]}}),
        ["gates.staging[0].slice: 'size' is not a configured slice (configured: region)"],
    ),
    (
        "slice gate with too few rows",
        variant(STAGING0, {**SLICE_GATE, "min_rows": 0}),
        ["gates.staging[0].min_rows: Input should be greater than or equal to 1 (got 0)"],
    ),
    (
        "slice with neither column nor function",
        variant("slices", [{"name": "region"}]),
        ["slices[0]: set exactly one of column, function (got none)"],
    ),
    (
        "slice with both column and function",
        variant("slices", [{"name": "region", "column": "region", "function": "slices:region"}]),
        ["slices[0]: set exactly one of column, function (got column and function)"],
    ),
    (
        "slice function not module:function",
        variant("slices", [{"name": "big", "function": "slices.big_orders"}]),
        ["slices[0].function: expected 'module:function' such as 'model:train' (got 'slices.big_orders')"],
    ),
    (
        "slice without a name",
        variant("slices", [{"column": "region"}]),
        ["slices[0].name: required key is missing"],
    ),
    (
        "slice with an unknown key",
        variant("slices", [{"name": "region", "column": "region", "by": "region"}]),
        ["slices[0]: unknown key 'by' (allowed: name, column, function)"],
    ),
    (
        "slice listed twice",
        variant("slices", [{"name": "region", "column": "region"}, {"name": "region", "column": "zone"}]),
        ["slices[1].name: slice 'region' is listed twice"],
    ),
    (
        "slices not a list",
        variant("slices", {"name": "region", "column": "region"}),
        ["slices: expected a list"],
    ),
    (
        "negative margin",
        variant("gates.staging.1.max_regression", -0.02),
        ["gates.staging[1].max_regression: Input should be greater than or equal to 0 (got -0.02)"],
    ),
    (
        "NaN threshold",
        variant(STAGING0, {"metric": "accuracy", "min": float("nan")}),
        ["gates.staging[0].min: Input should be a finite number (got nan)"],
    ),
    (
        "gate on an unconfigured metric",
        variant("gates.production.0.metric", "recall_macro"),
        [
            "gates.production[0].metric: 'recall_macro' is not a configured metric "
            "(configured: accuracy, f1_macro, roc_auc)"
        ],
    ),
    (
        "unknown builtin for the task",
        variant("metrics", ["accuracy", "f1_macro", "roc_auc", "rmse"]),
        [
            f"metrics[3]: unknown classification metric 'rmse' (builtin classification metrics: {BUILTINS}; "
            "define others as a custom metric with name and function)"
        ],
    ),
    (
        "misspelt builtin",
        variant("metrics.1", "f1-macro"),
        [
            "metrics[1]: unknown classification metric 'f1-macro' (did you mean 'f1_macro'? builtin "
            f"classification metrics: {BUILTINS}; define others as a custom metric with name and function)",
            f"gates.staging[1].metric: {F1_NOT_CONFIGURED}",
            f"gates.production[1].metric: {F1_NOT_CONFIGURED}",
        ],
    ),
    (
        "metric listed twice, custom metric named like a builtin",
        variant("metrics", ["accuracy", "f1_macro", "roc_auc", {"name": "accuracy", "function": "m:f"}]),
        [
            "metrics[3].name: 'accuracy' is a builtin classification metric; rename it",
            "metrics[3]: metric 'accuracy' is listed twice",
        ],
    ),
    (
        "no metrics",
        variant("metrics", []),
        ["metrics: List should have at least 1 item after validation, not 0"],
    ),
    (
        "metric entry of the wrong type",
        variant("metrics.2", 5),
        ["metrics[2]: expected a builtin metric name or a mapping with name and function (got 5)"],
    ),
    (
        "custom metric with an unknown key",
        variant("metrics.2", {"name": "mine", "function": "m:f", "direction": "up"}),
        ["metrics[2]: unknown key 'direction' (allowed: name, function, higher_is_better)"],
    ),
    (
        "bad module:function",
        variant("model.train", "train.py"),
        ["model.train: expected 'module:function' such as 'model:train' (got 'train.py')"],
    ),
    (
        "bad custom metric function",
        variant("metrics.2", {"name": "mine", "function": "metrics:my metric"}),
        ["metrics[2].function: expected 'module:function' such as 'model:train' (got 'metrics:my metric')"],
    ),
    (
        "YAML syntax error",
        EXAMPLE.replace("name: wine-classifier", "name: [wine"),
        ["line 3, column 7: could not parse YAML: expected ',' or ']', but got ':'"],
    ),
    (
        "control character",
        "model: \x07\n",
        ["could not parse YAML: unacceptable character #x0007: special characters are not allowed"],
    ),
    ("not a mapping", "- model\n- data\n", ["expected a mapping at the top level (got list)"]),
    ("a scalar", "modelgate\n", ["expected a mapping at the top level (got str)"]),
    ("empty file", "", ["the file is empty (expected the keys model, data and metrics)"]),
    (
        "only comments",
        "# nothing yet\n",
        ["the file is empty (expected the keys model, data and metrics)"],
    ),
]


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
