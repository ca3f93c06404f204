"""When live progress reaches the check run: after a step ends, never twice within the interval."""

from __future__ import annotations

import pytest

from bot.runs.progress import ProgressThrottle
from pipelines.progress import ShownStep

WAITING = (ShownStep("environment", "running"), ShownStep("train", "waiting"))
BUILT = (ShownStep("environment", "done", 3.0), ShownStep("train", "running"))
TRAINED = (ShownStep("environment", "done", 3.0), ShownStep("train", "done", 0.4))
FAILED = (ShownStep("environment", "done", 3.0), ShownStep("train", "failed", 0.4))


@pytest.mark.parametrize(("sent", "now", "steps", "due"), [
    pytest.param(None, 0.0, WAITING, False, id="nothing-ended-yet"),
    pytest.param(None, 0.0, BUILT, True, id="first-step-ended"),
    pytest.param((BUILT, 0.0), 5.0, BUILT, False, id="nothing-new"),
    pytest.param((BUILT, 0.0), 5.0, (BUILT[0], ShownStep("train", "waiting")), False,
                 id="a-start-alone-is-not-news"),
    pytest.param((BUILT, 0.0), 1.0, TRAINED, False, id="ended-but-too-soon"),
    pytest.param((BUILT, 0.0), 2.0, TRAINED, True, id="ended-and-interval-passed"),
    pytest.param((TRAINED, 0.0), 9.0, FAILED, True, id="a-step-failing-is-news"),
])
def test_progress_is_due(sent: tuple[tuple[ShownStep, ...], float] | None, now: float,
                         steps: tuple[ShownStep, ...], due: bool) -> None:
    clock = [0.0]
    throttle = ProgressThrottle(2.0, clock=lambda: clock[0])
    if sent is not None:
        clock[0] = sent[1]
        throttle.sent(sent[0])
    clock[0] = now
    assert throttle.due(steps) is due
