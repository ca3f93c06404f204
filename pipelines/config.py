"""The target repository's `.modelgate.yml`: its models, parsing, and errors that name key and value.

`python -m pipelines.config` prints the JSON Schema (pinned in tests/pipelines/golden/config.schema.json).
"""

import difflib
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator
from pydantic_core import ErrorDetails

from pipelines.metrics import builtin_metrics

CONFIG_FILE = ".modelgate.yml"
FUNCTION_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"

Task = Literal["classification", "regression"]
RuleKind = Literal["min", "max", "max_regression", "must_beat"]
RULE_KINDS: tuple[RuleKind, ...] = ("min", "max", "max_regression", "must_beat")
RELATIVE_RULES: tuple[RuleKind, ...] = ("max_regression", "must_beat")


class ConfigError(Exception):
    """The configuration could not be used; `messages` holds one located problem each."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


FunctionRef = Annotated[str, Field(pattern=FUNCTION_PATTERN)]  # the only pattern: see _MESSAGES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _gate_rule_schema(schema: dict[str, Any]) -> None:
    """Thresholds are plain numbers in the schema, and exactly one of them is required."""
    for kind in RULE_KINDS:
        prop = schema["properties"][kind]
        number = next(branch for branch in prop.pop("anyOf") if branch.get("type") == "number")
        prop.pop("default")
        prop.update(number)
    schema["oneOf"] = [{"required": [kind]} for kind in RULE_KINDS]


class GateRule(_Section):
    """One promotion gate: a metric and exactly one of min, max, max_regression, must_beat."""

    model_config = ConfigDict(json_schema_extra=_gate_rule_schema)

    metric: str = Field(description="Name of a configured metric (builtin name or custom metric name).")
    min: float | None = Field(None, allow_inf_nan=False, description="Absolute: candidate >= min.")
    max: float | None = Field(
        None, allow_inf_nan=False, description="Absolute: candidate <= max (for lower-is-better metrics)."
    )
    max_regression: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Relative: at most this much worse than the champion."
    )
    must_beat: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Relative: better than the champion by this margin."
    )
    significant: bool = Field(
        False, description="Also require statistical significance (only with max_regression or must_beat)."
    )

    @model_validator(mode="after")
    def _exactly_one_rule(self) -> Self:
        kinds = self._set_kinds()
        if len(kinds) != 1:
            got = " and ".join(kinds) or "none"
            raise ValueError(f"set exactly one of {', '.join(RULE_KINDS)} (got {got})")
        if self.significant and kinds[0] not in RELATIVE_RULES:
            raise ValueError(f"significant applies only to max_regression or must_beat (got {kinds[0]})")
        return self

    def _set_kinds(self) -> list[RuleKind]:
        return [kind for kind in RULE_KINDS if getattr(self, kind) is not None]

    @property
    def rule(self) -> RuleKind:
        """Which threshold this gate sets."""
        return self._set_kinds()[0]

    @property
    def threshold(self) -> float:
        """The value of the threshold this gate sets."""
        return float(getattr(self, self.rule))


class CustomMetric(_Section):
    """A metric computed by a function of the repository."""

    name: str = Field(min_length=1, description="Name used in gates and reports.")
    function: FunctionRef = Field(
        description="'module:function' in the repository: function(y_true, y_pred, y_score) -> float."
    )
    higher_is_better: bool = Field(True, description="Direction of improvement, used by relative gates.")


def _metric_kind(value: Any) -> str | None:
    custom = isinstance(value, dict | CustomMetric)
    return "builtin" if isinstance(value, str) else "custom" if custom else None


MetricEntry = Annotated[
    Annotated[str, Tag("builtin")] | Annotated[CustomMetric, Tag("custom")],
    Discriminator(
        _metric_kind,
        custom_error_type="metric_entry",
        custom_error_message="expected a builtin metric name or a mapping with name and function",
    ),
]


class ModelSection(_Section):
    """The model under review."""

    name: str = Field(min_length=1, description="Model name shown in checks and reports.")
    task: Task = Field(description="classification or regression; decides the builtin metrics.")
    train: FunctionRef = Field(description="'module:function': train(X_train, y_train) -> fitted model.")


class DataSection(_Section):
    """Where each pipeline gets its data."""

    staging: FunctionRef = Field(description="'module:function' -> (X_train, y_train, X_eval, y_eval).")
    production: FunctionRef = Field(description="'module:function' -> (X_train, y_train, X_eval, y_eval).")


class GatesSection(_Section):
    """Gates per environment; no gates means the stage always passes."""

    staging: list[GateRule] = Field(default_factory=list, description="Gates to pass for staging.")
    production: list[GateRule] = Field(default_factory=list, description="Gates to pass for production.")


class ModelgateConfig(_Section):
    """modelgate configuration (.modelgate.yml at the repository root)."""

    model_config = ConfigDict(title="modelgate configuration")

    model: ModelSection = Field(title="Model", description="Name, task and training function of the model.")
    data: DataSection = Field(title="Data", description="Data loaders per environment.")
    metrics: list[MetricEntry] = Field(
        min_length=1,
        description="Builtin metric names (classification: accuracy, precision_macro, recall_macro, "
        "f1_macro, roc_auc, log_loss; regression: rmse, mae, r2) or custom metrics "
        "{name, function, higher_is_better}.",
    )
    gates: GatesSection = Field(default_factory=GatesSection, title="Gates", description="Gates per stage.")
    timeout_seconds: int = Field(900, ge=1, le=86400, description="Time limit of one pipeline run.")
    run_on_draft: bool = Field(True, description="Also run the pipelines on draft pull requests.")

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        problems = _cross_field_problems(self)
        if problems:
            raise _CrossFieldErrors(problems)
        return self

    def metric_names(self) -> list[str]:
        """Configured metric names, in configuration order."""
        return [entry if isinstance(entry, str) else entry.name for entry in self.metrics]

    def config_hash(self) -> str:
        """sha256 hex of the effective configuration (defaults filled in, key order irrelevant)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class _CrossFieldErrors(ValueError):
    """Problems spanning several keys; each entry already names its location."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _cross_field_problems(config: ModelgateConfig) -> list[str]:
    task = config.model.task
    builtins = list(builtin_metrics(task))
    problems: list[str] = []
    seen: dict[str, None] = {}  # ordered set
    for index, (entry, name) in enumerate(zip(config.metrics, config.metric_names(), strict=True)):
        if isinstance(entry, str) and name not in builtins:
            close = difflib.get_close_matches(name, builtins, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                f"metrics[{index}]: unknown {task} metric {name!r} ({hint}builtin {task} metrics: "
                f"{', '.join(builtins)}; define others as a custom metric with name and function)"
            )
        elif not isinstance(entry, str) and name in builtins:
            problems.append(f"metrics[{index}].name: {name!r} is a builtin {task} metric; rename it")
        if name in seen:
            problems.append(f"metrics[{index}]: metric {name!r} is listed twice")
        seen[name] = None
    for stage in ("staging", "production"):
        for index, gate in enumerate(getattr(config.gates, stage)):
            if gate.metric not in seen:
                problems.append(
                    f"gates.{stage}[{index}].metric: {gate.metric!r} is not a configured metric "
                    f"(configured: {', '.join(seen)})"
                )
    return problems


def parse_config(text: str, source: str = CONFIG_FILE) -> ModelgateConfig:
    """Parse and validate the YAML text of a configuration; raises ConfigError naming every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: {_yaml_problem(exc)}"]) from exc
    if data is None:
        raise ConfigError([f"{source}: the file is empty (expected the keys model, data and metrics)"])
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected a mapping at the top level (got {type(data).__name__})"])
    try:
        return ModelgateConfig.model_validate(data)
    except ValidationError as exc:
        messages = [message for error in exc.errors() for message in _error_messages(source, error)]
        raise ConfigError(messages) from exc


def load_config(repo_dir: Path) -> ModelgateConfig:
    """Read and parse `.modelgate.yml` at the root of a checked-out repository; raises ConfigError."""
    path = repo_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError([f"{CONFIG_FILE}: not found at the repository root"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{CONFIG_FILE}: not valid UTF-8 ({exc.reason} at byte {exc.start})"]) from exc
    return parse_config(text)


def config_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of `.modelgate.yml`, for editors and documentation."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **ModelgateConfig.model_json_schema()}


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: could not parse YAML: {exc.problem}"
    return f"could not parse YAML: {str(exc).splitlines()[0]}"  # e.g. a control character


_MESSAGES = {  # pydantic's wording where it names Python rather than YAML
    "missing": "required key is missing",
    "model_type": "expected a mapping",
    "list_type": "expected a list",
    "string_pattern_mismatch": "expected 'module:function' such as 'model:train'",
}


def _error_messages(source: str, error: ErrorDetails) -> list[str]:
    """One pydantic error as located messages: "<source>: <location>: <problem> (got <value>)"."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _CrossFieldErrors):
        return [f"{source}: {problem}" for problem in cause.problems]
    loc, kind, value = error["loc"], error["type"], error["input"]
    if loc[:1] == ("metrics",) and len(loc) > 2:
        loc = loc[:2] + loc[3:]  # drop the union tag ("builtin"/"custom") after the list index
    if kind == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        allowed = ", ".join(_model_at(parent).model_fields)
        return [f"{source}: {_location(parent) or 'top level'}: unknown key {key!r} (allowed: {allowed})"]
    if kind == "invalid_key":
        where = _location(loc[:-1]) or "top level"
        return [f"{source}: {where}: key {value!r} is not a string (quote it: YAML reads yes/no as booleans)"]
    message = str(cause) if isinstance(cause, ValueError) else _MESSAGES.get(kind, error["msg"])
    if kind != "missing" and (isinstance(value, str | int | float | bool) or value is None):
        message += f" (got {_shorten(repr(value))})"
    return [f"{source}: {_location(loc) or 'top level'}: {message}"]


def _location(loc: Sequence[int | str]) -> str:
    """('gates', 'staging', 0, 'min') -> 'gates.staging[0].min'."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _model_at(loc: Sequence[int | str]) -> type[BaseModel]:
    """The model class validating the mapping at a location (list indexes skipped)."""
    model: type[BaseModel] = ModelgateConfig
    for part in loc:
        if isinstance(part, str):
            annotation = model.model_fields[part].annotation
            model = next(t for t in _types_in(annotation) if isinstance(t, type) and issubclass(t, BaseModel))
    return model


def _types_in(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in get_args(annotation):
        yield from _types_in(arg)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    print(json.dumps(config_json_schema(), indent=2))
