"""The `.modelgate.yml` model: its sections, parsing, and errors that name key and value."""

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from pipelines.config.access import APPROVAL_FIELD, COMMANDS_FIELD, Approval, CommandName, CommandRule
from pipelines.config.choice import exactly_one as _exactly_one
from pipelines.config.choice import exactly_one_schema as _exactly_one_schema
from pipelines.config.deploy import DeploySpec, NoDeploy, ProductionSection
from pipelines.config.environment import EnvironmentSection
from pipelines.config.problems import CrossFieldErrors, cross_field_problems, error_messages, yaml_problem
from pipelines.config.schedule import DASHBOARD_FIELD, SCHEDULE_FIELD, ScheduleEntry

CONFIG_FILE = ".modelgate.yml"
FUNCTION_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"

Task = Literal["classification", "regression"]
RuleKind = Literal["min", "max", "max_regression", "must_beat", "max_slice_regression"]
RULE_KINDS: tuple[RuleKind, ...] = ("min", "max", "max_regression", "must_beat", "max_slice_regression")
RELATIVE_RULES: tuple[RuleKind, ...] = ("max_regression", "must_beat")  # the rules `significant` applies to
SLICE_RULE: RuleKind = "max_slice_regression"
DEFAULT_MIN_ROWS = 10


class ConfigError(Exception):
    """The configuration could not be used; `messages` holds one located problem each."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


FunctionRef = Annotated[str, Field(pattern=FUNCTION_PATTERN)]  # the only pattern: see _MESSAGES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GateRule(_Section):
    """One gate: a metric and one of min, max, max_regression, must_beat, max_slice_regression."""

    model_config = ConfigDict(json_schema_extra=_exactly_one_schema(RULE_KINDS))

    metric: str = Field(
        description="Name of a configured metric (builtin name or custom metric name), or predict_latency_ms "
        "or model_size_mb (measured on the model; gating them needs no metrics entry)."
    )
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
    max_slice_regression: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="Per slice: no slice may be more than this much worse than the champion on that slice.",
    )
    significant: bool = Field(
        False, description="Judge the 95% bootstrap confidence bound of the improvement instead of the "
        "point estimate (only with max_regression or must_beat).",
    )
    slice: str | None = Field(
        None, min_length=1,
        description="Only with max_slice_regression: judge this slice set alone (default: every slice set).",
    )
    min_rows: int = Field(
        DEFAULT_MIN_ROWS, ge=1,
        description="Only with max_slice_regression: ignore slice values with fewer evaluation rows.",
    )

    @model_validator(mode="after")
    def _exactly_one_rule(self) -> Self:
        kind = _exactly_one(self, RULE_KINDS)
        if self.significant and kind not in RELATIVE_RULES:
            raise ValueError(f"significant applies only to max_regression or must_beat (got {kind})")
        if kind != SLICE_RULE and (self.slice is not None or "min_rows" in self.model_fields_set):
            raise ValueError(f"slice and min_rows apply only to max_slice_regression (got {kind})")
        return self

    @property
    def rule(self) -> RuleKind:
        """Which threshold this gate sets."""
        return next(kind for kind in RULE_KINDS if getattr(self, kind) is not None)

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


class SliceSpec(_Section):
    """A slice set: evaluation rows grouped by a column of X_eval or by a function of the repository."""

    model_config = ConfigDict(json_schema_extra=_exactly_one_schema(("column", "function")))

    name: str = Field(min_length=1, description="Name shown in reports and used by gates' slice key.")
    column: str | None = Field(
        None, min_length=1, description="Column of X_eval (a data frame) whose values are the slices."
    )
    function: FunctionRef | None = Field(
        None, description="'module:function' in the repository: function(X_eval) -> one slice label per row."
    )

    @model_validator(mode="after")
    def _column_or_function(self) -> Self:
        _exactly_one(self, ("column", "function"))
        return self


class ModelgateConfig(_Section):
    """modelgate configuration (.modelgate.yml at the repository root)."""

    model_config = ConfigDict(title="modelgate configuration")

    model: ModelSection = Field(title="Model", description="Name, task and training function of the model.")
    data: DataSection = Field(title="Data", description="Data loaders per environment.")
    metrics: list[MetricEntry] = Field(
        min_length=1,
        description="Builtin metric names (classification: accuracy, precision_macro, recall_macro, "
        "f1_macro, roc_auc, log_loss; regression: rmse, mae, r2; every model: predict_latency_ms, "
        "model_size_mb, lower is better) or custom metrics {name, function, higher_is_better}. "
        "model_size_mb is always reported; predict_latency_ms is measured when listed here or gated.",
    )
    gates: GatesSection = Field(default_factory=GatesSection, title="Gates", description="Gates per stage.")
    slices: list[SliceSpec] = Field(
        default_factory=list,
        description="Slice sets: metrics per group of evaluation rows, reported and gated by "
        "max_slice_regression.",
    )
    timeout_seconds: int = Field(900, ge=1, le=86400, description="Time limit of one pipeline run.")
    run_on_draft: bool = Field(True, description="Also run the pipelines on draft pull requests.")
    deploy: DeploySpec = Field(
        default_factory=NoDeploy, title="Deploy", description="How a promoted model is deployed."
    )
    production: ProductionSection = Field(
        default_factory=ProductionSection, title="Production", description="When production runs happen."
    )
    commands: dict[CommandName, CommandRule] = COMMANDS_FIELD
    require_approval: Approval = APPROVAL_FIELD
    environment: EnvironmentSection | None = Field(
        None, title="Environment",
        description="The job's dependencies; without it modelgate uses requirements.txt, else pyproject.toml "
        "(with its uv.lock), else its own runtime.",
    )
    schedule: list[ScheduleEntry] = SCHEDULE_FIELD
    dashboard: bool = DASHBOARD_FIELD

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        problems = cross_field_problems(self)
        if problems:
            raise CrossFieldErrors(problems)
        return self

    def metric_names(self) -> list[str]:
        """Configured metric names, in configuration order."""
        return [entry if isinstance(entry, str) else entry.name for entry in self.metrics]

    def config_hash(self) -> str:
        """sha256 hex of the effective configuration (defaults filled in, key order irrelevant)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_config(text: str, source: str = CONFIG_FILE) -> ModelgateConfig:
    """Parse and validate the YAML text of a configuration; raises ConfigError naming every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: {yaml_problem(exc)}"]) from exc
    if data is None:
        raise ConfigError([f"{source}: the file is empty (expected the keys model, data and metrics)"])
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected a mapping at the top level (got {type(data).__name__})"])
    try:
        return ModelgateConfig.model_validate(data)
    except ValidationError as exc:
        messages = [msg for error in exc.errors() for msg in error_messages(source, error, ModelgateConfig)]
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
