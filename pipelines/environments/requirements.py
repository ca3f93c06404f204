"""Reading requirement lines safely: includes stay inside the repository, index options and remote
URLs are refused (the index is the operator's choice), local paths are told apart."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement

from pipelines.environments.errors import EnvironmentRequestError

INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
                 "--no-index", "--index", "--default-index")
_INCLUDE = ("-r", "--requirement")
_EDITABLE = ("-e", "--editable")
_COMMENT = re.compile(r"(^|\s)#.*$")
_HASH = re.compile(r"\s--hash[=\s]\S+")
_OPTION = re.compile(r"^(--?[A-Za-z][\w-]*)(?:[=\s]\s*(.*))?$")
_MAX_DEPTH = 10


@dataclass
class Requirements:
    """Requirement lines (PEP 508, normalized spacing) and repository paths to install (relative
    POSIX paths, "." for the root), in order, without duplicates."""

    lines: list[str] = field(default_factory=list)
    local_paths: list[str] = field(default_factory=list)

    def add_line(self, line: str) -> None:
        """Append a requirement line unless already present."""
        if line not in self.lines:
            self.lines.append(line)

    def add_path(self, path: str) -> None:
        """Append a repository path unless already present."""
        if path not in self.local_paths:
            self.local_paths.append(path)


def read_requirements_file(repo_dir: Path, relative: str) -> Requirements:
    """The requirements of the repository file ``relative`` (with its ``-r`` includes)."""
    found = Requirements()
    _read_file(repo_dir, PurePosixPath(relative), found, depth=0)
    return found


def parse_lines(repo_dir: Path, lines: Iterable[str], where: str) -> Requirements:
    """Requirement lines given inline (config ``packages``, pyproject dependencies, exported locks)."""
    found = Requirements()
    for number, line in enumerate(lines, start=1):
        _parse_line(repo_dir, PurePosixPath("."), line, f"{where} line {number}", found, depth=0)
    return found


def _read_file(repo_dir: Path, relative: PurePosixPath, found: Requirements, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise EnvironmentRequestError(f"{relative}: requirements files include each other too deeply")
    path = inside_repository(repo_dir, str(relative), str(relative))
    if not path.is_file():
        raise EnvironmentRequestError(f"{relative}: requirements file not found in the repository")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EnvironmentRequestError(f"{relative}: not valid UTF-8 ({exc.reason})") from exc
    for number, line in _logical_lines(text):
        _parse_line(repo_dir, relative.parent, line, f"{relative} line {number}", found, depth)


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined and comments dropped."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if line:
            yield start, line
    if pending.strip():
        yield start, _COMMENT.sub("", pending).strip()


def _parse_line(repo_dir: Path, base: PurePosixPath, line: str, where: str, found: Requirements,
                depth: int) -> None:
    line = _HASH.sub("", f" {line}").strip()
    if not line:
        return
    if line.startswith("-"):
        _parse_option(repo_dir, base, line, where, found, depth)
    elif line.startswith((".", "/", "~", "file:")):
        found.add_path(local_path(repo_dir, line, where))
    else:
        _parse_requirement(repo_dir, line, where, found)


def _parse_option(repo_dir: Path, base: PurePosixPath, line: str, where: str, found: Requirements,
                  depth: int) -> None:
    match = _OPTION.match(line)
    option, value = (match.group(1), (match.group(2) or "").strip()) if match else (line, "")
    if option in INDEX_OPTIONS:
        raise EnvironmentRequestError(f"{where}: {option} is not allowed: the package index is the App "
                                      "operator's choice (MODELGATE_PACKAGE_INDEX_URL)")
    if option in _INCLUDE and value:
        include = _normalized(base / value)
        inside_repository(repo_dir, include, f"{where}: {option} {value}")
        _read_file(repo_dir, PurePosixPath(include), found, depth + 1)
    elif option in _EDITABLE and value:
        found.add_path(local_path(repo_dir, value, where))
    else:
        raise EnvironmentRequestError(f"{where}: the option {option} is not supported (only -r FILE and "
                                      "-e PATH, with paths inside the repository)")


def _parse_requirement(repo_dir: Path, line: str, where: str, found: Requirements) -> None:
    try:
        requirement = Requirement(line)
    except InvalidRequirement as exc:
        raise EnvironmentRequestError(f"{where}: not a valid requirement {line!r} ({exc})") from exc
    if requirement.url is None:
        found.add_line(str(requirement))
    elif requirement.url.startswith("file:"):
        found.add_path(local_path(repo_dir, requirement.url, where))
    else:
        raise EnvironmentRequestError(f"{where}: {requirement.name} @ {requirement.url} is not allowed: "
                                      "packages come from the App operator's package index (no direct URLs)")


def local_path(repo_dir: Path, text: str, where: str) -> str:
    """A requirement naming a repository path (``.``, ``./pkg``, ``file:pkg``) as a relative POSIX path
    from the repository root; EnvironmentRequestError when it is remote or leaves the repository."""
    root = repo_dir.resolve()
    path = text
    if text.startswith("file:"):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise EnvironmentRequestError(f"{where}: {text} is not a path of this repository")
        path = unquote(parsed.path)
        if path.startswith("/") and Path(path).resolve().is_relative_to(root):
            path = Path(path).resolve().relative_to(root).as_posix() or "."
    resolved = inside_repository(repo_dir, path, f"{where}: {text}")
    if not resolved.exists():
        raise EnvironmentRequestError(f"{where}: {text} does not exist in the repository")
    return resolved.relative_to(root).as_posix() or "."


def inside_repository(repo_dir: Path, relative: str, what: str) -> Path:
    """``repo_dir / relative`` resolved; EnvironmentRequestError when it is absolute or leaves the
    repository (also through a symbolic link)."""
    root = repo_dir.resolve()
    if relative.startswith(("/", "~")):
        raise EnvironmentRequestError(f"{what}: absolute paths are not allowed (use a path relative to the "
                                      "repository root)")
    resolved = (root / relative).resolve()
    if resolved != root and not resolved.is_relative_to(root):
        raise EnvironmentRequestError(f"{what}: leaves the repository (only its own files may be read)")
    return resolved


def _normalized(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts and parts[-1] not in ("..", "/"):
                parts.pop()
            else:
                parts.append(part)
        elif part != ".":
            parts.append(part)
    return str(PurePosixPath(*parts)) if parts else "."
