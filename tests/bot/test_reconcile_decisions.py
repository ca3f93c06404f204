"""The reconcile loop's decision for one deployment, from what the record wants and what answers."""

from __future__ import annotations

import pytest

from bot.deployments.decisions import Action, decide
from bot.store import DeploymentState
from pipelines.deploy import Health

SERVING, STOPPED, RETIRED = DeploymentState.SERVING, DeploymentState.STOPPED, DeploymentState.RETIRED


@pytest.mark.parametrize(
    ("state", "version", "answer", "action"),
    [
        (SERVING, 3, Health(3, True), Action.KEEP),  # answers as recorded
        (SERVING, 3, Health(None, False), Action.DEPLOY),  # nothing answers (a restarted App)
        (SERVING, 3, Health(3, False), Action.DEPLOY),  # the recorded version is down (a crashed server)
        (SERVING, 3, Health(2, True), Action.DEPLOY),  # another version answers
        (SERVING, None, Health(None, False), Action.KEEP),  # nothing recorded yet, nothing answers
        (SERVING, None, Health(2, True), Action.STOP),  # something answers that nothing records
        (STOPPED, 3, Health(3, True), Action.STOP),  # an operator stopped it
        (STOPPED, 3, Health(None, False), Action.KEEP),  # ... and it is stopped
        (RETIRED, 3, Health(3, True), Action.STOP),  # the model moved to another target
        (RETIRED, 3, Health(None, False), Action.KEEP),
    ],
)
def test_decide(state: DeploymentState, version: int | None, answer: Health, action: Action) -> None:
    assert decide(state, version, answer) == action
