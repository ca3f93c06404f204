"""Runs that go back to the queue instead of failing: their job vanished (a Ray head restarted and lost
it), which says nothing about the repository's code. They run again within MODELGATE_MAX_ATTEMPTS
(the attempts that dead workers use up count too), then fail visibly."""

from __future__ import annotations

from bot.store import RunState

RETRYABLE_ERRORS = frozenset({"vanished"})


class Retry(Exception):
    """Raised by a run handler: the run goes back to the queue (the worker decides, by its attempts).
    Its check run stays in progress meanwhile."""

    def __init__(self, error_kind: str, reason: str) -> None:
        super().__init__(reason)
        self.error_kind, self.reason = error_kind, reason


def retry_decision(error_kind: str | None, attempts: int, max_attempts: int) -> RunState | None:
    """What a run whose pipeline ended with ``error_kind`` becomes after its ``attempts``-th claim:
    QUEUED (run again), FAILED (out of attempts), or None (not a retry: it ends as its handler says)."""
    if error_kind not in RETRYABLE_ERRORS:
        return None
    return RunState.QUEUED if attempts < max_attempts else RunState.FAILED


def gave_up(reason: str, attempts: int) -> str:
    """The error of a run that ran out of attempts."""
    return f"{reason} (gave up after {attempts} attempts)"
