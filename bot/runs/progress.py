"""When a run's live progress goes to its check run: when a step ended since the last update, and no
sooner than ``interval`` seconds after it (GitHub counts every check run update against the App's
content-creation limits; a run has a handful of steps, so it sends a handful of updates)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from pipelines.progress import ShownStep

PROGRESS_INTERVAL_SECONDS = 2.0


class ProgressThrottle:
    """Decides whether the steps shown now should be sent (``due``), and remembers what was (``sent``)."""

    def __init__(self, interval: float = PROGRESS_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval, self._clock = interval, clock
        self._ended: tuple[ShownStep, ...] = ()
        self._sent_at: float | None = None

    def due(self, steps: Sequence[ShownStep]) -> bool:
        """True when a step ended since the last update and ``interval`` has passed since it was sent."""
        if _ended(steps) == self._ended:
            return False
        return self._sent_at is None or self._clock() - self._sent_at >= self._interval

    def sent(self, steps: Sequence[ShownStep]) -> None:
        """``steps`` reached GitHub now."""
        self._ended, self._sent_at = _ended(steps), self._clock()


def _ended(steps: Sequence[ShownStep]) -> tuple[ShownStep, ...]:
    return tuple(step for step in steps if step.state in ("done", "failed"))
