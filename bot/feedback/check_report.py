"""How a run ended, for GitHub: the check run's conclusion and texts and the commit status,
built by the message functions (``messages``, ``outcomes``) and written by ``check_run``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckReport:
    """How a run ended, for GitHub: check conclusion, status state and their texts."""

    conclusion: str  # success | failure | neutral | cancelled | skipped | timed_out | action_required
    status: str  # success | failure | error (pending: still waiting, e.g. for a maintainer)
    title: str
    summary: str
    description: str
    text: str | None = None
