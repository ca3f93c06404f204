"""How a run handler ends a run: ``RunOutcome`` for the store, ``Stop`` to end it early."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.feedback.check_report import CheckReport
from bot.feedback.messages import stopped_report
from bot.store import RunRecord, RunState


@dataclass(frozen=True)
class RunOutcome:
    """How a processed run ended."""

    state: RunState
    result: dict[str, Any] | None = None
    error: str | None = None


class RunHandler(Protocol):
    """Processes one claimed run and says how it ended."""

    def __call__(self, run: RunRecord) -> RunOutcome: ...


class Stop(Exception):
    """The run ends early with ``state`` and, if anything was started on GitHub, ``report``."""

    def __init__(self, state: RunState, reason: str, report: CheckReport | None = None) -> None:
        super().__init__(reason)
        self.state, self.reason = state, reason
        self.report = report or stopped_report(reason, superseded=state == RunState.SUPERSEDED)
