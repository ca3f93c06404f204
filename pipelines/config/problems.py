"""Problems of a broken `.modelgate.yml`, each located as "<source>: <key path>: <problem>"."""

import difflib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, get_args

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

from pipelines.metrics import builtin_metrics
from pipelines.model_metrics import MODEL_METRICS, is_model_metric

if TYPE_CHECKING:
    from pipelines.config.model import GateRule, ModelgateConfig


class CrossFieldErrors(ValueError):
    """Problems spanning several keys; each entry already names its location."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def cross_field_problems(config: "ModelgateConfig") -> list[str]:
    """Problems spanning several keys (metric names, slice names, gates referring to them)."""
    return _metric_problems(config) + _slice_problems(config) + _gate_problems(config)


def _metric_problems(config: "ModelgateConfig") -> list[str]:
    task = config.model.task
    builtins = list(builtin_metrics(task))
    problems: list[str] = []
    seen: set[str] = set()
    for index, (entry, name) in enumerate(zip(config.metrics, config.metric_names(), strict=True)):
        if isinstance(entry, str) and name not in builtins and not is_model_metric(name):
            close = difflib.get_close_matches(name, [*builtins, *MODEL_METRICS], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                f"metrics[{index}]: unknown {task} metric {name!r} ({hint}builtin {task} metrics: "
                f"{', '.join(builtins)}; of every model: {', '.join(MODEL_METRICS)}; "
                "define others as a custom metric with name and function)"
            )
        elif not isinstance(entry, str) and name in builtins:
            problems.append(f"metrics[{index}].name: {name!r} is a builtin {task} metric; rename it")
        elif not isinstance(entry, str) and is_model_metric(name):
            problems.append(f"metrics[{index}].name: {name!r} is the builtin metric modelgate measures on "
                            "every model; rename it")
        if name in seen:
            problems.append(f"metrics[{index}]: metric {name!r} is listed twice")
        seen.add(name)
    return problems


def _slice_problems(config: "ModelgateConfig") -> list[str]:
    names = [spec.name for spec in config.slices]
    return [
        f"slices[{index}].name: slice {name!r} is listed twice"
        for index, name in enumerate(names)
        if name in names[:index]
    ]


def _gate_problems(config: "ModelgateConfig") -> list[str]:
    metrics = list(dict.fromkeys(config.metric_names()))
    slices = list(dict.fromkeys(spec.name for spec in config.slices))
    problems: list[str] = []
    for stage in ("staging", "production"):
        for index, gate in enumerate(getattr(config.gates, stage)):
            where = f"gates.{stage}[{index}]"
            if is_model_metric(gate.metric):
                problems += _model_metric_gate_problems(where, gate)
            elif gate.metric not in metrics:
                problems.append(
                    f"{where}.metric: {gate.metric!r} is not a configured metric "
                    f"(configured: {', '.join(metrics)})"
                )
            if gate.max_slice_regression is not None and not slices:
                problems.append(f"{where}.max_slice_regression: no slices are configured (add a slices list)")
            elif gate.slice is not None and gate.slice not in slices:
                problems.append(
                    f"{where}.slice: {gate.slice!r} is not a configured slice "
                    f"(configured: {', '.join(slices)})"
                )
    return problems


def _model_metric_gate_problems(where: str, gate: "GateRule") -> list[str]:
    """A gate on a model metric (measured on the whole model) cannot use rules that need per-row values."""
    if gate.significant:
        return [f"{where}.significant: {gate.metric} is measured on the whole model, not computed per "
                "evaluation row, so it has no confidence interval (its relative gates count differences "
                "within a measurement tolerance as equal instead)"]
    if gate.max_slice_regression is not None:
        return [f"{where}.max_slice_regression: {gate.metric} is measured on the whole model, not per slice "
                "(use max_regression)"]
    return []


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML syntax error as one line, with its line and column when known."""
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


def error_messages(source: str, error: ErrorDetails, root: type[BaseModel]) -> list[str]:
    """One pydantic error of ``root`` as located messages: "<source>: <location>: <problem> (got <value>)"."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, CrossFieldErrors):
        return [f"{source}: {problem}" for problem in cause.problems]
    loc, kind, value = error["loc"], error["type"], error["input"]
    if loc[:1] == ("metrics",) and len(loc) > 2:
        loc = loc[:2] + loc[3:]  # drop the union tag ("builtin"/"custom") after the list index
    if kind == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        allowed = ", ".join(_model_at(root, parent).model_fields)
        return [f"{source}: {location(parent) or 'top level'}: unknown key {key!r} (allowed: {allowed})"]
    if kind == "invalid_key":
        where = location(loc[:-1]) or "top level"
        return [f"{source}: {where}: key {value!r} is not a string (quote it: YAML reads yes/no as booleans)"]
    message = str(cause) if isinstance(cause, ValueError) else _MESSAGES.get(kind, error["msg"])
    if kind != "missing" and (isinstance(value, str | int | float | bool) or value is None):
        message += f" (got {_shorten(repr(value))})"
    return [f"{source}: {location(loc) or 'top level'}: {message}"]


def location(loc: Sequence[int | str]) -> str:
    """('gates', 'staging', 0, 'min') -> 'gates.staging[0].min'."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel]:
    """The model class validating the mapping at a location (list indexes and mapping keys skipped)."""
    model = root
    for part in loc:
        if isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
            model = next(t for t in _types_in(annotation) if isinstance(t, type) and issubclass(t, BaseModel))
    return model


def _types_in(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in get_args(annotation):
        yield from _types_in(arg)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
