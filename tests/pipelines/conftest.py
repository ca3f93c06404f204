"""Fixtures for pipeline runs: a throwaway MLflow store and a private copy of the example repository."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.executor import LocalExecutor
from tests.fixtures.example_repo import EXAMPLE, recording_copy, set_model_name


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite tracking store per test module; its artifacts go to <tmp>/mlartifacts beside it."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root}/mlflow.db"


@pytest.fixture
def example_repo(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A copy of the example repository whose model is named after the test.

    Tests of a module share a tracking store; distinct model names keep their champions apart.
    """
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    set_model_name(repo, name)
    return repo


@pytest.fixture
def serial_executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    """A ``LocalExecutor`` running one job at a time in ``tmp_path/jobs``, shut down after the test."""
    pool = LocalExecutor(workdir=tmp_path / "jobs", max_concurrency=1)
    yield pool
    pool.shutdown(timeout=30)


@pytest.fixture
def recording_repo(tmp_path: Path) -> Path:
    """A copy of the example whose data function records what it sees (``RECORDING_DATA``)."""
    return recording_copy(tmp_path)
