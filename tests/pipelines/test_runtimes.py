"""Whether a saved model loads in a runtime as it was saved: the same pins, however they are spelled."""

from __future__ import annotations

import pytest

from pipelines.runtimes import JobRuntime

RUNTIME = JobRuntime(None, (), ("scikit-learn==1.9.1", "cloudpickle==3.1.3"), "3.11.7", "test")


@pytest.mark.parametrize(("pins", "same"), [
    (["scikit-learn==1.9.1", "cloudpickle==3.1.3"], True),
    (["cloudpickle==3.1.3", "Scikit_Learn == 1.9.1", ""], True),  # order, case, spelling, blank lines
    (["scikit-learn==1.9.0", "cloudpickle==3.1.3"], False),  # another version
    (["scikit-learn==1.9.1", "cloudpickle==3.1.3", "lightgbm==4.7.0"], False),  # one package more
    (["scikit-learn==1.9.1"], False),  # one fewer
])
def test_a_model_loads_in_a_runtime_with_the_same_pins(pins: list[str], same: bool) -> None:
    assert RUNTIME.same_packages(pins) is same
