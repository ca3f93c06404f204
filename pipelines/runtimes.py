"""Which Python a job runs in: the App's own runtime (enough for scikit-learn models) or the
repository's environment, built by ``pipelines.environments`` and held for the job's lifetime.

A ``JobRuntime`` also says what a model saved in it needs to load again: the exact pins that go into
the logged MLflow model (``requirements.txt``, ``python_env.yaml``), so a scoring server,
``mlflow models serve --env-manager uv`` and a later run's champion job can recreate it.
"""

from __future__ import annotations

import contextlib
import logging
import platform
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.checkout import StepError
from pipelines.job_process import JobPolicy
from pipelines.model_files import job_requirements

log = logging.getLogger(__name__)
DEFAULT_DESCRIPTION = "the App's default job runtime"


@dataclass(frozen=True)
class JobRuntime:
    """An interpreter for a job, the folders it needs read-only, and what its models need to load."""

    python: Path | None  # None: the App's own interpreter
    folders: tuple[Path, ...]
    requirements: tuple[str, ...]  # name==version pins, for the logged model
    python_version: str
    description: str  # for people: which environment the job used
    key: str | None = None  # the environment's cache key (None: the App's runtime)

    def same_packages(self, pins: Sequence[str]) -> bool:
        """True when a model recorded with ``pins`` loads in this runtime as it was saved."""
        return _normalized(pins) == _normalized(self.requirements)


def serving_requirements() -> list[str]:
    """What serving a logged model needs beside its recorded pins: MLflow (skinny, the App's version)
    and pandas."""
    from importlib.metadata import version

    return [f"mlflow-skinny=={version('mlflow')}", "pandas"]


def default_runtime() -> JobRuntime:
    """The App's own runtime: its interpreter and its scikit-learn and cloudpickle."""
    return JobRuntime(None, (), tuple(job_requirements()), platform.python_version(), DEFAULT_DESCRIPTION)


@contextlib.contextmanager
def repository_runtime(repo_dir: Path, section: Any, policy: JobPolicy) -> Iterator[JobRuntime]:
    """The runtime of the repository at ``repo_dir``: its declared environment (built or reused, and
    kept from eviction until the block ends), or the App's runtime when it declares none.
    StepError("environment") carries uv's own message when the requirements do not resolve or build."""
    from pipelines.environments import EnvironmentRequestError, find_environment

    try:
        request = find_environment(repo_dir, section, policy.isolation)
    except EnvironmentRequestError as exc:
        raise StepError("environment", str(exc)) from exc
    if request is None:
        yield default_runtime()
        return
    with _built(request, repo_dir, policy, policy.scope) as runtime:
        yield runtime


@contextlib.contextmanager
def recorded_runtime(pins: Sequence[str], python_version: str | None, policy: JobPolicy,
                     label: str) -> Iterator[JobRuntime]:
    """The runtime a model was saved in, recreated from its recorded ``pins`` (its own packages, not
    the candidate's: a PR that upgrades a library still evaluates the champion under the old one)."""
    from pipelines.environments import request_from_pins

    request = request_from_pins(pins, _major_minor(python_version), label)
    with _built(request, None, policy, "recorded") as runtime:
        yield runtime


@contextlib.contextmanager
def _built(request: Any, repo_dir: Path | None, policy: JobPolicy, scope: str) -> Iterator[JobRuntime]:
    from pipelines.environments import EnvironmentBuildError, EnvironmentCache, recorded_requirements

    settings = policy.environments
    if settings is None:
        raise StepError("environment", f"this run cannot build environments ({request.source} declares one): "
                                       "no environment cache is configured")
    cache = EnvironmentCache(settings.root, settings.cap_bytes, policy.isolation, settings.index_url)
    try:
        with cache.use(request, repo_dir, scope) as environment:
            pins = recorded_requirements(environment, request, policy.isolation)
            how = "built" if environment.built else "cached"
            description = (f"{request.source} (Python {environment.python_version}, {how} in "
                           f"{environment.seconds:.1f} s)")
            for line in environment.log:
                log.info("environment build: %s", line)
            yield JobRuntime(environment.python, tuple(environment.runtime), tuple(pins),
                             environment.python_version, description, environment.key)
    except EnvironmentBuildError as exc:
        raise StepError("environment", exc.message, list(exc.log)[-40:]) from exc


def read_recorded(folder: Path) -> tuple[list[str], str | None]:
    """A saved model's pins (``requirements.txt``) and Python version (``python_env.yaml``)."""
    import yaml

    requirements = folder / "requirements.txt"
    pins = [line.strip() for line in requirements.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")] if requirements.is_file() else []
    python = None
    env_file = folder / "python_env.yaml"
    if env_file.is_file():
        loaded = yaml.safe_load(env_file.read_text(encoding="utf-8")) or {}
        python = str(loaded.get("python")) if isinstance(loaded, dict) and loaded.get("python") else None
    return pins, python


def _normalized(pins: Sequence[str]) -> set[str]:
    """The pins in the canonical spelling environment keys use (a line that is no requirement, as is)."""
    from packaging.requirements import InvalidRequirement

    from pipelines.environments.key import normalize_requirement

    found = set()
    for pin in filter(None, map(str.strip, pins)):
        try:
            found.add(normalize_requirement(pin))
        except InvalidRequirement:
            found.add(pin)
    return found


def _major_minor(version: str | None) -> str | None:
    if not version:
        return None
    return ".".join(version.split(".")[:2])
