"""Timing the steps of a run and turning their unexpected exceptions into ``StepError`` with a log tail."""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pipelines.checkout import StepError
from pipelines.result import LOG_TAIL_LINES

log = logging.getLogger("pipelines.steps")  # progress lines of the run


class LogTail(logging.Handler):
    """Keeps the last log lines of a run (attached to the root logger meanwhile), for error results."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(self.format(record).splitlines())

    @contextmanager
    def attached(self) -> Iterator[LogTail]:
        """Collect the root logger's lines (INFO for ``pipelines`` unless someone chose a level)."""
        root = logging.getLogger()
        root.addHandler(self)
        package_log = logging.getLogger("pipelines")
        if package_log.level == logging.NOTSET:
            package_log.setLevel(logging.INFO)
        try:
            yield self
        finally:
            root.removeHandler(self)


StepListener = Callable[[str, str, "float | None"], None]  # (step, running|done|failed, seconds)


class Steps:
    """Step timings of one run; ``step()`` wraps one step and tells ``listener`` when it starts and ends
    (``pipelines.progress.ProgressFile``: the run's live progress)."""

    def __init__(self, listener: StepListener | None = None) -> None:
        self.durations: dict[str, float] = {}
        self._listener = listener

    @contextmanager
    def step(self, name: str, error_kind: str) -> Iterator[None]:
        """Time a step; unexpected exceptions become StepError(error_kind) with the traceback's tail."""
        log.info("step %s: start", name)
        self._tell(name, "running", None)
        started, state = time.perf_counter(), "failed"
        try:
            yield
            state = "done"
        except StepError:
            raise
        except Exception as exc:
            lines = "".join(traceback.format_exception(exc)).splitlines()
            raise StepError(error_kind, f"{name} failed: {type(exc).__name__}: {exc}", lines) from exc
        finally:
            self.durations[name] = round(time.perf_counter() - started, 3)
            self._tell(name, state, self.durations[name])

    def _tell(self, name: str, state: str, seconds: float | None) -> None:
        if self._listener is not None:
            self._listener(name, state, seconds)
