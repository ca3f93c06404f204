"""A Ray job's log, followed by polling: each new line masked, kept in the tail and copied to our
stdout (the run's log), as ``JobProcess`` does for a local job."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections import deque
from collections.abc import Callable

from pipelines.masking import Masker

LOG_POLL_SECONDS = 1.0


class LogPump:
    """Polls ``fetch`` (the whole log so far) on a thread and emits the lines not seen yet."""

    def __init__(self, fetch: Callable[[], str], mask: Masker, tail: deque[str],
                 poll_seconds: float = LOG_POLL_SECONDS) -> None:
        self._fetch, self._mask, self._tail, self._poll = fetch, mask, tail, poll_seconds
        self._seen = 0  # characters of the log already emitted
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Follow the log on a daemon thread."""
        self._thread = threading.Thread(target=self._follow, name="ray-job-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (the thread ends within one poll)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self._poll + 5)

    def drain(self, final: bool = False) -> None:
        """Emit the complete new lines (with ``final``, the unterminated last one too). A log that
        cannot be fetched now is tried again next time."""
        with self._lock:
            try:
                text = self._fetch()
            except Exception:  # the cluster is briefly unreachable: the status poll decides what it means
                return
            if len(text) < self._seen:
                self._seen = 0  # a different log (the job was resubmitted after a restart): start over
            new = text[self._seen:]
            end = len(new) if final else new.rfind("\n") + 1
            self._seen += end
            for line in new[:end].splitlines():
                self._emit(self._mask(line))

    def _emit(self, line: str) -> None:
        self._tail.append(line)
        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if out is not None:
            with contextlib.suppress(OSError, ValueError):
                out.write(line.encode("utf-8") + b"\n")
                out.flush()

    def _follow(self) -> None:
        while not self._stop.wait(self._poll):
            self.drain()
