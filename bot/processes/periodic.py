"""A function called on a daemon thread of its own: at once, then every period, until stopped. The
scheduler, the deployments' reconcile loop and the WAL checkpoints run this way."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


class Periodic:
    """Calls ``action`` on a thread named ``name`` every ``period`` seconds (``start``/``stop``); an
    exception is logged to ``log`` as ``failure`` and the next period tries again."""

    def __init__(self, name: str, action: Callable[[], object], period: float, log: logging.Logger,
                 failure: str) -> None:
        self.name, self.period = name, period
        self._action, self._log, self._failure = action, log, failure
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Call the action now and then every period, until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop calling it; waits for a call under way (up to ``timeout`` seconds, None: however long)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._action()
            except Exception:  # the store may be down for a while: try again next period
                self._log.exception(self._failure)
            self._stop.wait(self.period)
