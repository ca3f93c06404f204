"""``modelgate serve`` on several cores: a supervisor process that binds the port once, starts the intake
processes on it and the background process (``bot.processes.children``), starts again any that ends
unexpectedly, and on SIGTERM or SIGINT stops them all: intake first (answered requests are committed),
then the background process (its runs finish or are handed back).

The supervisor itself does nothing else. Metrics go through prometheus-client's multiprocess mode, in
``<data dir>/prometheus`` (emptied at start); the processes learn of it from the environment."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from bot.processes.plan import ProcessPlan
from bot.settings import Settings

log = logging.getLogger(__name__)
INTAKE, BACKGROUND = "intake", "background"
QUICK_SECONDS = 10.0  # a process that ends sooner after its start failed to start
GIVE_UP_AFTER = 5  # quick failures in a row of one process: the supervisor stops everything
STOP_SECONDS = {INTAKE: 30.0, BACKGROUND: 45.0}  # the background process waits up to 30 s for its runs


@dataclass
class _Slot:
    """One process the supervisor keeps running."""

    role: str
    index: int
    target: Callable[..., None]
    args: tuple[Any, ...]
    process: BaseProcess | None = None
    started: float = 0.0
    quick_failures: int = 0
    start_at: float = 0.0  # when to start it (again)
    label: str = field(init=False)

    def __post_init__(self) -> None:
        self.label = f"{self.role} process {self.index}" if self.role == INTAKE else f"{self.role} process"


def restart_delay(quick_failures: int) -> float:
    """Seconds before starting again a process that ended after ``quick_failures`` quick failures in a row
    (0: it had run for a while)."""
    return 0.0 if quick_failures == 0 else min(30.0, 0.5 * 2 ** (quick_failures - 1))


class Supervisor:
    """Runs ``plan``'s processes for ``settings`` until SIGTERM/SIGINT (``run``; call ``prepare_metrics``
    first, before this process imports prometheus-client)."""

    def __init__(self, settings: Settings, plan: ProcessPlan) -> None:
        self._settings, self._plan = settings, plan
        self._context = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self._workers: Synchronized[int] | None = None
        self.slots: list[_Slot] = []

    def run(self) -> int:
        """Start every process, keep them running, stop them on a signal; 0, or 1 when a process kept
        failing to start."""
        from uvicorn import Config

        from bot.metrics import PROCESS_RESTARTS  # after prepare_metrics (the caller's): values in files
        from bot.processes.children import STATES, background_main, intake_main
        from bot.processes.notice import notice_pair

        # log_config=None: uvicorn's "running on" line goes through modelgate's logging (JSON too)
        listener = Config("bot.server:app_from_environment", host=self._settings.host,
                          port=self._settings.port, log_config=None).bind_socket()
        sending, receiving = notice_pair() if self._plan.background else (None, None)
        if self._plan.background:
            self._workers = self._context.Value("i", STATES.index("starting"))
        self.slots = [_Slot(INTAKE, n, intake_main, (self._settings, listener, sending, self._workers))
                      for n in range(self._plan.intake)]
        if receiving is not None:
            args = (self._settings, receiving, self._workers)
            self.slots.append(_Slot(BACKGROUND, 0, background_main, args))
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._stopping.set())
        log.info("modelgate serve: %d intake processes on %s:%d%s", self._plan.intake, self._settings.host,
                 self._settings.port, ", run workers in a background process"
                 if self._plan.background else "")
        failed = False
        try:
            while not self._stopping.is_set() and not failed:
                now = time.monotonic()
                for slot in self.slots:
                    if slot.process is None and slot.start_at <= now:
                        self._start(slot)
                running = {slot.process.sentinel: slot for slot in self.slots if slot.process is not None}
                for sentinel in wait(list(running), timeout=0.2):
                    ended = running[sentinel]  # type: ignore[index]  # wait() returns what it was given
                    failed = self._ended(ended) or failed
                    PROCESS_RESTARTS.labels(role=ended.role).inc()
        finally:
            self._stop_all()
            listener.close()
        return 1 if failed else 0

    def _start(self, slot: _Slot) -> None:
        if slot.role == BACKGROUND and self._workers is not None:
            self._workers.value = 0  # starting
        slot.process = self._context.Process(target=slot.target, args=slot.args, name=slot.label)
        slot.process.start()
        slot.started = time.monotonic()
        log.info("%s started (pid %s)", slot.label, slot.process.pid)

    def _ended(self, slot: _Slot) -> bool:
        """A process ended on its own: log it, schedule its start; True when it kept failing to start."""
        assert slot.process is not None
        slot.process.join()
        ran = time.monotonic() - slot.started
        slot.quick_failures = slot.quick_failures + 1 if ran < QUICK_SECONDS else 0
        delay = restart_delay(slot.quick_failures)
        log.error("%s (pid %s) ended with exit code %s after %.1f s; starting it again in %.1f s",
                  slot.label, slot.process.pid, slot.process.exitcode, ran, delay)
        slot.process, slot.start_at = None, time.monotonic() + delay
        if slot.quick_failures >= GIVE_UP_AFTER:
            log.error("%s failed to start %d times in a row: stopping modelgate serve", slot.label,
                      slot.quick_failures)
            return True
        return False

    def _stop_all(self) -> None:
        """SIGTERM to the intake processes, then to the background process; SIGKILL to any still running
        after ``STOP_SECONDS``."""
        for role in (INTAKE, BACKGROUND):
            slots = [slot for slot in self.slots if slot.role == role and slot.process is not None]
            for slot in slots:
                assert slot.process is not None
                slot.process.terminate()
            deadline = time.monotonic() + STOP_SECONDS[role]
            for slot in slots:
                assert slot.process is not None
                slot.process.join(max(0.0, deadline - time.monotonic()))
                if slot.process.exitcode is None:
                    log.error("%s (pid %s) did not stop in time: killed", slot.label, slot.process.pid)
                    slot.process.kill()
                    slot.process.join()
                slot.process = None
        log.info("modelgate serve stopped")


def prepare_metrics(directory: Path) -> None:
    """An empty ``directory`` for prometheus-client's multiprocess files, named in the environment the
    processes inherit (before this process imports prometheus-client)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
