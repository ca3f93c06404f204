"""The cache key of an environment: everything that decides what gets installed, and who may use it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipelines.environments.interpreter import find_interpreter
from pipelines.environments.request import EnvironmentRequest
from pipelines.environments.runtime import job_runtime

SKIPPED_DIRS = frozenset({".git"})


def environment_key(request: EnvironmentRequest, repo_dir: Path | None, scope: str,
                    runtime: Sequence[str] | None = None) -> str:
    """sha256 hex over the Python version used, the normalized requirements, the job runtime
    (``runtime``; default ``job_runtime()``), the
    contents of the repository paths installed, and ``scope`` ("base" for the repository's own branches,
    "fork:<owner/repo>" for a fork's PR: a fork's environment is never reused by base runs)."""
    digest = hashlib.sha256()
    head = {
        "python": find_interpreter(request.python).version,
        "requirements": sorted({normalize_requirement(line) for line in request.requirements}),
        "runtime": list(job_runtime() if runtime is None else runtime),
        "local_paths": sorted(set(request.local_paths)),
        "scope": scope,
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    if request.local_paths:
        if repo_dir is None:
            raise ValueError("a request that installs repository paths needs the repository")
        for path in sorted(set(request.local_paths)):
            for relative, content in _files(repo_dir.resolve(), path):
                digest.update(f"\0{relative}\0{len(content)}\0".encode())
                digest.update(content)
    return digest.hexdigest()


def normalize_requirement(line: str) -> str:
    """One requirement in canonical spelling: "LightGBM == 4.7.0" -> "lightgbm==4.7.0"."""
    requirement = Requirement(line)
    extras = ",".join(sorted(canonicalize_name(extra) for extra in requirement.extras))
    extras = f"[{extras}]" if extras else ""
    specifier = ",".join(sorted(str(spec) for spec in requirement.specifier))
    marker = f"; {requirement.marker}" if requirement.marker is not None else ""
    url = f" @ {requirement.url}" if requirement.url else ""
    return f"{canonicalize_name(requirement.name)}{extras}{specifier}{url}{marker}"


def _files(root: Path, relative: str) -> Iterator[tuple[str, bytes]]:
    """(path relative to ``root``, content) of every file under ``root/relative``, sorted; a symbolic
    link counts as its target text (never followed: it may point outside the repository)."""
    start = root / relative
    if start.is_file() or start.is_symlink():
        yield relative, _content(start)
        return
    for directory, dirs, names in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        linked = [d for d in dirs if (Path(directory) / d).is_symlink()]  # os.walk does not enter them
        for name in sorted([*names, *linked]):
            path = Path(directory) / name
            yield path.relative_to(root).as_posix(), _content(path)


def _content(path: Path) -> bytes:
    return os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
