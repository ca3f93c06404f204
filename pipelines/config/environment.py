"""The `environment:` section of `.modelgate.yml`: which dependencies the repository's job runs with.

Without the section modelgate looks for them itself (``pipelines/environments/request.py``).
"""

import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipelines.config.choice import exactly_one, exactly_one_schema

ENVIRONMENT_SOURCES = ("requirements", "pyproject", "packages")
PYTHON_PATTERN = r"^3\.\d{1,2}(\.\d{1,2})?$"


def check_relative_path(value: str) -> str:
    """``value`` if it names a path inside the repository (relative, no ``..``); ValueError otherwise."""
    posix = PurePosixPath(value)
    if posix.is_absolute() or PureWindowsPath(value).is_absolute() or value.startswith("~"):
        raise ValueError("must be a path relative to the repository root")
    if ".." in posix.parts or "\\" in value:
        raise ValueError("must stay inside the repository (no '..' and no backslashes)")
    return value


class EnvironmentSection(BaseModel):
    """The dependencies the training job is installed with (exactly one of requirements, pyproject,
    packages); modelgate builds a virtualenv from them with uv, from wheels only."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra=exactly_one_schema(ENVIRONMENT_SOURCES)
    )

    requirements: str | None = Field(
        None, min_length=1,
        description="A requirements file of the repository (path relative to its root), e.g. "
        "ml/requirements.txt.",
    )
    pyproject: Literal[True] | None = Field(
        None,
        description="true: the [project.dependencies] of the root pyproject.toml (or its uv.lock when "
        "present); the project itself is not installed.",
    )
    packages: list[str] | None = Field(
        None, min_length=1, description="Requirement lines, e.g. [lightgbm==4.7.0, polars>=1]."
    )
    python: str | None = Field(
        None, json_schema_extra={"pattern": PYTHON_PATTERN},
        description="Python version, e.g. \"3.11\"; one installed on the App's host. Default: the App's own.",
    )

    @field_validator("requirements")
    @classmethod
    def _inside_the_repository(cls, value: str | None) -> str | None:
        return None if value is None else check_relative_path(value)

    @field_validator("python", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        if isinstance(value, float | int) and not isinstance(value, bool):
            raise ValueError(f'quote the version ("{value}"): YAML reads an unquoted 3.10 as the number 3.1')
        if isinstance(value, str) and not re.match(PYTHON_PATTERN, value):
            raise ValueError('expected a Python 3 version such as "3.11" or "3.11.7"')
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        exactly_one(self, ENVIRONMENT_SOURCES)
        return self
