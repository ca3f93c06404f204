"""What the reconcile loop does with one deployment: a pure decision from what the record wants and what
answers (table-tested in ``tests/bot/test_reconcile_decisions.py``)."""

from __future__ import annotations

from enum import StrEnum

from bot.store import DeploymentState
from pipelines.deploy import Health


class Action(StrEnum):
    """The reconcile loop's step for one deployment."""

    KEEP = "keep"  # it answers as recorded (or nothing should answer, and nothing does)
    DEPLOY = "deploy"  # the recorded version should answer and does not: start it (again)
    STOP = "stop"  # something answers that no record wants


def decide(state: DeploymentState, version: int | None, health: Health) -> Action:
    """The step that makes what answers (``health``) match the record (``state``, desired ``version``)."""
    wanted = state == DeploymentState.SERVING and version is not None
    if not wanted:
        return Action.STOP if health.version is not None else Action.KEEP
    if health.version == version and health.healthy:
        return Action.KEEP
    return Action.DEPLOY
