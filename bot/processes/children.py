"""The processes a supervisor (``bot.processes.supervisor``) starts: intake processes, which take webhooks on
the shared listening socket and acknowledge the runs they queue (the "queued" status: the acknowledger
runs where the commit happens), and the background process, which runs the run workers. Both are
started with ``multiprocessing``'s spawn (a fresh interpreter)."""

from __future__ import annotations

import ctypes
import signal
import socket
import sys
import threading
from multiprocessing.sharedctypes import Synchronized

from bot.settings import Settings

STATES = ("starting", "running", "failed", "stopped")  # of the run workers, shared with /healthz
_PR_SET_PDEATHSIG = 1


class WorkersState:
    """The background process's run-workers state, in memory the supervisor shares with every process."""

    def __init__(self, value: Synchronized[int]) -> None:
        self._value = value

    def get(self) -> str:
        """starting, running, failed or stopped."""
        return STATES[self._value.value]

    def set(self, state: str) -> None:
        """Publish ``state`` (one of ``STATES``)."""
        self._value.value = STATES.index(state)


def _child_setup(settings: Settings) -> None:
    """Logging as the supervisor's, and SIGTERM when the supervisor dies (even by ``kill -9``)."""
    from bot.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def intake_main(settings: Settings, listener: socket.socket, notice: socket.socket | None,
                workers: Synchronized[int] | None) -> None:
    """An intake process: uvicorn on ``listener``; tells ``notice`` of the runs it queues; its
    ``/healthz`` reports the background process's ``workers``."""
    import uvicorn

    from bot.processes.notice import RunsNotifier
    from bot.server import build_services, create_app
    from bot.webhooks.http_limits import server_options

    _child_setup(settings)
    notify = RunsNotifier(notice) if notice is not None else _nobody
    services = build_services(settings, workers=0, notify=notify)
    if workers is not None:
        services.workers_elsewhere = WorkersState(workers).get
    server = uvicorn.Server(uvicorn.Config(create_app(services), **server_options(settings)))
    server.run(sockets=[listener])
    if not server.started:
        sys.exit(3)


def _nobody(delivery_guids: list[str]) -> None:
    """No process works runs (``--workers 0``): nobody to tell."""


def background_main(settings: Settings, notice: socket.socket, workers: Synchronized[int] | None) -> None:
    """The background process: the run workers, woken by the intake processes' notices; publishes their
    state in ``workers``."""
    from bot.processes.notice import RunsListener
    from bot.server import build_services, running

    _child_setup(settings)
    services = build_services(settings, acknowledge=False)  # the intake processes acknowledge
    state = WorkersState(workers) if workers is not None else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def on_runs(delivery_guids: list[str]) -> None:
        if services.pool is not None:
            services.pool.wake()

    listener = RunsListener(notice, on_runs)
    with running(services):  # the workers start once MLflow's store is prepared, in the background
        listener.start()
        while not stop.wait(0.05):
            if state is not None:
                state.set(services.workers_state() or "stopped")
        listener.stop()
    if state is not None:
        state.set("stopped")
