"""Shared `.modelgate.yml` test data: the example, one-key variants of it, and the table of broken
files with the exact messages each must produce."""

import copy
from typing import Any

import yaml

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
STAGING0 = "gates.staging.0"


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
