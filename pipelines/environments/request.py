"""Which dependencies a repository's job needs: the `environment:` section, or what the repository
declares in its usual files."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config.environment import EnvironmentSection
from pipelines.environments.errors import EnvironmentRequestError
from pipelines.environments.lockfile import LOCK_FILE, export_lock
from pipelines.environments.requirements import Requirements, parse_lines, read_requirements_file
from pipelines.sandbox import Isolation

REQUIREMENTS_FILE = "requirements.txt"
PYPROJECT_FILE = "pyproject.toml"
PYPROJECT_SOURCE = "pyproject.toml [project.dependencies]"
PACKAGES_SOURCE = ".modelgate.yml packages"
PINS_SOURCE = "recorded requirements"


@dataclass(frozen=True)
class EnvironmentRequest:
    """What to install: requirement lines, repository paths to install, and the Python version."""

    source: str  # for the check run: "requirements.txt", ".modelgate.yml packages", ...
    requirements: tuple[str, ...]
    local_paths: tuple[str, ...] = ()
    python: str | None = None


def find_environment(repo_dir: Path, section: EnvironmentSection | None,
                     isolation: Isolation = Isolation.BWRAP) -> EnvironmentRequest | None:
    """The repository's environment request, or None: the job then runs in the App's own runtime.

    With ``section`` it is what the section names. Without it, in order: the root ``requirements.txt``;
    the root ``pyproject.toml`` (its ``uv.lock`` when one lies beside it, exported without network in a
    sandbox run with ``isolation``; else its ``[project.dependencies]``). From pyproject.toml only the
    project's dependencies are installed, never the project itself (its code is imported from the
    checkout). Raises EnvironmentRequestError for anything that reads outside the repository or
    chooses a package index.
    """
    python = section.python if section is not None else None
    if section is not None and section.requirements is not None:
        return _request(section.requirements, read_requirements_file(repo_dir, section.requirements), python)
    if section is not None and section.packages is not None:
        packages = parse_lines(repo_dir, section.packages, "environment.packages")
        return _request(PACKAGES_SOURCE, packages, python)
    if section is None and (repo_dir / REQUIREMENTS_FILE).is_file():
        return _request(REQUIREMENTS_FILE, read_requirements_file(repo_dir, REQUIREMENTS_FILE), None)
    if (repo_dir / PYPROJECT_FILE).is_file():
        return _from_pyproject(repo_dir, python, isolation)
    if section is not None:
        raise EnvironmentRequestError(f".modelgate.yml: environment.pyproject: there is no {PYPROJECT_FILE} "
                                      "at the repository root")
    return None


def request_from_pins(pins: Sequence[str], python: str | None = None,
                      source: str = PINS_SOURCE) -> EnvironmentRequest:
    """A request for exactly ``pins`` (e.g. a champion's recorded ``name==version`` lines), checked like a
    repository's requirements; it installs no repository paths."""
    found = parse_lines(Path("/nonexistent"), pins, source)
    if found.local_paths:
        raise EnvironmentRequestError(f"{source}: repository paths cannot be pinned ({found.local_paths[0]})")
    return _request(source, found, python)


def _from_pyproject(repo_dir: Path, python: str | None, isolation: Isolation) -> EnvironmentRequest:
    if (repo_dir / LOCK_FILE).is_file():
        return _request(LOCK_FILE, parse_lines(repo_dir, export_lock(repo_dir, isolation), LOCK_FILE), python)
    project = read_pyproject(repo_dir / PYPROJECT_FILE).get("project", {})
    dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
    if not isinstance(dependencies, list) or not all(isinstance(item, str) for item in dependencies):
        raise EnvironmentRequestError(f"{PYPROJECT_SOURCE}: expected a list of requirement strings")
    return _request(PYPROJECT_SOURCE, parse_lines(repo_dir, dependencies, PYPROJECT_SOURCE), python)


def read_pyproject(path: Path) -> dict[str, Any]:
    """A pyproject.toml's tables; EnvironmentRequestError naming the file when it is not valid TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnvironmentRequestError(f"{path.name}: not valid TOML ({exc})") from exc


def _request(source: str, found: Requirements, python: str | None) -> EnvironmentRequest:
    return EnvironmentRequest(source=source, requirements=tuple(found.lines),
                              local_paths=tuple(found.local_paths), python=python)
