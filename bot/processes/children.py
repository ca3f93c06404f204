"""The processes a supervisor (``bot.processes.supervisor``) starts: intake processes, which take webhooks on
the shared listening socket and tell the background process which deliveries queued runs, and the
background process, which acknowledges those runs (the "queued" status) and runs the run workers. With
no background process (``--workers 0``) the intake processes acknowledge what they queue. All are started
with ``multiprocessing``'s spawn (a fresh interpreter).

The acknowledger lives in one process so that one GitHub client (its installation tokens, its rate
limiter) serves every acknowledgement and is warm before the first PR: in each intake process, the first
acknowledgement after a start waited 1–4 s for that process's own first token (bench/README.md)."""

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
    """An intake process: uvicorn on ``listener``; tells ``notice`` of the runs it queues and the checkbox
    ticks it stores (no ``notice``: it acknowledges them itself); its ``/healthz`` reports the background
    process's ``workers``."""
    import uvicorn

    from bot.processes.notice import RunsNotifier
    from bot.server import build_services, create_app
    from bot.webhooks.server_options import server_options

    _child_setup(settings)
    notifier = RunsNotifier(notice) if notice is not None else None
    services = build_services(settings, workers=0, notify=notifier)
    if workers is not None:
        services.workers_elsewhere = WorkersState(workers).get
    server = uvicorn.Server(uvicorn.Config(create_app(services), **server_options(settings)))
    server.run(sockets=[listener])
    if not server.started:
        sys.exit(3)


def background_main(settings: Settings, notice: socket.socket, workers: Synchronized[int] | None) -> None:
    """The background process: acknowledges the runs the intake processes' notices name and wakes the run
    workers for them; publishes the workers' state in ``workers``."""
    from bot.processes.notice import RunsListener
    from bot.server import build_services, running

    _child_setup(settings)
    services = build_services(settings)
    state = WorkersState(workers) if workers is not None else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def on_runs(delivery_guids: list[str]) -> None:
        if services.acknowledger is not None:
            services.acknowledger.runs_queued(delivery_guids)
        if services.pool is not None:
            services.pool.wake()

    on_ticks = services.acknowledger.untick if services.acknowledger is not None else None
    listener = RunsListener(notice, on_runs, on_ticks)
    with running(services):  # the workers start once MLflow's store is prepared, in the background
        listener.start()
        while not stop.wait(0.05):
            if state is not None:
                state.set(services.workers_state() or "stopped")
        listener.stop()
    if state is not None:
        state.set("stopped")
