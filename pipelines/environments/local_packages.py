"""What repository paths need installed before they are built: their static dependencies and build
backend, read from their pyproject.toml (they are then built without network and without deps)."""

from __future__ import annotations

from pathlib import Path

from pipelines.environments.errors import EnvironmentRequestError
from pipelines.environments.request import PYPROJECT_FILE, read_pyproject
from pipelines.environments.requirements import parse_lines

LEGACY_BUILD_REQUIRES = ("setuptools>=40.8.0",)  # PEP 517's default for a project without [build-system]


def local_package_requirements(repo_dir: Path, local_paths: tuple[str, ...]) -> list[str]:
    """Requirement lines for ``local_paths``: each one's ``[build-system].requires`` and static
    ``[project.dependencies]`` (dynamic dependencies cannot be known before building, so a package
    declaring them gets none). Wheel files need nothing."""
    lines: list[str] = []
    for relative in local_paths:
        path = repo_dir / relative
        if not path.is_dir():
            continue
        where = f"{relative}/{PYPROJECT_FILE}" if relative != "." else PYPROJECT_FILE
        tables = read_pyproject(path / PYPROJECT_FILE) if (path / PYPROJECT_FILE).is_file() else {}
        build_system = tables.get("build-system", {})
        project = tables.get("project", {})
        requires = build_system.get("requires", list(LEGACY_BUILD_REQUIRES))
        dependencies = [] if "dependencies" in project.get("dynamic", []) else project.get("dependencies", [])
        found = parse_lines(repo_dir, [*_strings(requires, where), *_strings(dependencies, where)], where)
        if found.local_paths:
            raise EnvironmentRequestError(f"{where}: a dependency on a repository path "
                                          f"({found.local_paths[0]}) is not supported; list it in the "
                                          "requirements instead")
        lines += [line for line in found.lines if line not in lines]
    return lines


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise EnvironmentRequestError(f"{where}: expected lists of requirement strings")
    return list(value)
