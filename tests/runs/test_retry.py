"""Which pipeline errors send a run back to the queue, and until when."""

from __future__ import annotations

import pytest

from bot.runs.retry import retry_decision
from bot.store import RunState


@pytest.mark.parametrize(
    ("error_kind", "attempts", "max_attempts", "decision"),
    [
        ("vanished", 1, 3, RunState.QUEUED),
        ("vanished", 2, 3, RunState.QUEUED),
        ("vanished", 3, 3, RunState.FAILED),
        ("vanished", 4, 3, RunState.FAILED),  # a dead worker's attempts count too
        ("vanished", 1, 1, RunState.FAILED),
        ("crash", 1, 3, None),
        ("timeout", 1, 3, None),
        ("cancelled", 1, 3, None),
        (None, 1, 3, None),
    ],
)
def test_retry_decision(
    error_kind: str | None, attempts: int, max_attempts: int, decision: RunState | None
) -> None:
    assert retry_decision(error_kind, attempts, max_attempts) == decision
