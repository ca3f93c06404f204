"""Fixtures for pipeline runs: a throwaway MLflow store and a private copy of the example repository."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.fixtures.example_repo import EXAMPLE, set_model_name


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
