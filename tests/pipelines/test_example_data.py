"""The example's data: every bottle has one role, so no model is evaluated on rows it was trained on."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.fixtures.example_repo import EXAMPLE


@pytest.fixture(scope="module")
def data() -> ModuleType:
    """The example's data.py, imported from its file (the example is not a package)."""
    spec = importlib.util.spec_from_file_location("example_wine_data", EXAMPLE / "data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(frame) -> set[int]:
    return set(frame.index)


def test_splits_are_disjoint_and_cover_every_bottle(data: ModuleType) -> None:
    s_X_train, s_y_train, s_X_eval, s_y_eval = data.load_staging()
    p_X_train, p_y_train, p_X_eval, p_y_eval = data.load_production()
    for X, y in [(s_X_train, s_y_train), (s_X_eval, s_y_eval), (p_X_train, p_y_train), (p_X_eval, p_y_eval)]:
        assert list(X.index) == list(y.index)  # features and labels of the same bottles, in order
        assert X.index.is_unique

    staging_train, staging_eval = _rows(s_X_train), _rows(s_X_eval)
    production_train, production_eval = _rows(p_X_train), _rows(p_X_eval)
    assert staging_eval.isdisjoint(production_train)  # the champion never saw staging's evaluation rows
    assert production_eval.isdisjoint(staging_train)
    assert staging_eval.isdisjoint(staging_train) and production_eval.isdisjoint(production_train)
    assert staging_eval.isdisjoint(production_eval)
    # the roles: one shared set of training bottles, and each pipeline's own evaluation bottles
    assert staging_train == production_train
    assert staging_train | staging_eval | production_eval == set(range(178))
    assert (len(staging_train), len(staging_eval), len(production_eval)) == (86, 38, 54)
    assert set(s_y_eval) == set(p_y_eval) == {0, 1, 2}  # stratified: every class is evaluated


def test_splits_are_reproducible(data: ModuleType) -> None:
    first, again = data.load_production(), data.load_production()
    for a, b in zip(first, again, strict=True):
        assert a.equals(b)
    assert all(a.equals(b) for a, b in zip(data.load_staging(), data.load_staging(), strict=True))
