"""Sections whose keys are alternatives: exactly one of them is set (validation and JSON Schema)."""

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel


def exactly_one_schema(keys: Sequence[str]) -> Callable[[dict[str, Any]], None]:
    """Schema hook: the optional ``keys`` are plain values (no null), and exactly one of them is required."""

    def hook(schema: dict[str, Any]) -> None:
        for key in keys:
            prop = schema["properties"][key]
            value = next(branch for branch in prop.pop("anyOf") if branch.get("type") != "null")
            prop.pop("default")
            prop.update(value)
        schema["oneOf"] = [{"required": [key]} for key in keys]

    return hook


def exactly_one(section: BaseModel, keys: Sequence[str]) -> str:
    """The one key of ``keys`` that is set; ValueError naming the keys otherwise."""
    chosen = [key for key in keys if getattr(section, key) is not None]
    if len(chosen) != 1:
        raise ValueError(f"set exactly one of {', '.join(keys)} (got {' and '.join(chosen) or 'none'})")
    return chosen[0]
