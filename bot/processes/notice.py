"""What one process stored, told to another: ``modelgate serve``'s intake processes commit deliveries,
and its background process hears at once which deliveries queued a run of their own (to acknowledge the
run and wake a worker) and which ticked a dashboard's "retrain now" box (to untick it).

One datagram per commit, a JSON object ``{"runs": [GUID, ...], "ticks": [[repository, installation, issue],
...]}``, over a Unix datagram socket pair the supervisor made (its receiving end outlives a restarted
background process, so nothing sent meanwhile is lost). Sending never blocks the intake's event loop: when
the receiver's queue is full the notice waits and goes with the next commit's, or 5 ms later. The workers
also poll the store every second and a scheduled run unticks its box when it starts, so a lost notice only
delays.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from bot.dashboard.untick import Tick, ticks_in
from bot.store import IncomingDelivery

log = logging.getLogger(__name__)
RETRY_SECONDS = 0.005
MAX_DATAGRAM = 60_000  # one commit's notice (≤ 256 deliveries of ≤ 64-character GUIDs) fits many times over
MAX_ITEMS = 400  # runs and ticks in one datagram: well under MAX_DATAGRAM with 64-character GUIDs and names


def notice_pair() -> tuple[socket.socket, socket.socket]:
    """The (sending, receiving) ends; pass them to the processes (``multiprocessing`` carries sockets)."""
    sending, receiving = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    return sending, receiving


class RunsNotifier:
    """The sending end: a writer's ``on_runs_queued`` listener (``__call__``) and ``on_committed`` listener
    (``committed``: the ticks)."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._runs: list[str] = []
        self._ticks: list[Tick] = []
        self._lock = threading.Lock()
        self._retry: threading.Timer | None = None

    def __call__(self, delivery_guids: list[str]) -> None:
        """Tell the receiver that these deliveries queued runs."""
        with self._lock:
            self._runs.extend(delivery_guids)
            self._send()

    def committed(self, fresh: list[IncomingDelivery]) -> None:
        """Tell the receiver of the checkbox ticks among these new deliveries (only when there are some)."""
        ticks = ticks_in(fresh)
        if ticks:
            with self._lock:
                self._ticks.extend(ticks)
                self._send()

    def _send(self) -> None:
        while self._runs or self._ticks:
            runs = self._runs[:MAX_ITEMS]
            ticks = self._ticks[:MAX_ITEMS - len(runs)]
            try:
                self._sock.send(json.dumps({"runs": runs, "ticks": ticks}).encode())
            except BlockingIOError:  # the receiver is behind (or restarting): later
                if self._retry is None:
                    self._retry = threading.Timer(RETRY_SECONDS, self._retried)
                    self._retry.daemon = True
                    self._retry.start()
                return
            except OSError as exc:
                log.warning("could not tell the background process of %d runs and %d ticks: %s", len(runs),
                            len(ticks), exc)
            del self._runs[:len(runs)]
            del self._ticks[:len(ticks)]

    def _retried(self) -> None:
        with self._lock:
            self._retry = None
            self._send()


class RunsListener:
    """The receiving end: a thread that calls ``on_runs`` with each notice's GUIDs (when it has some) and
    ``on_ticks`` with its ticks (when it has some)."""

    def __init__(self, sock: socket.socket, on_runs: Callable[[list[str]], None],
                 on_ticks: Callable[[list[Tick]], None] | None = None) -> None:
        self._sock = sock
        self._on_runs, self._on_ticks = on_runs, on_ticks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start listening."""
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._loop, name="runs-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (within 0.2 s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(MAX_DATAGRAM + 1024)
            except TimeoutError:
                continue
            except OSError as exc:
                log.error("the runs listener stopped: %s", exc)
                return
            try:
                self._handle(json.loads(data))
            except Exception:
                log.exception("handling a notice failed")

    def _handle(self, notice: dict[str, list[Any]]) -> None:
        runs = [str(guid) for guid in notice.get("runs", [])]
        if runs:
            self._on_runs(runs)
        ticks = [_tick(item) for item in notice.get("ticks", [])]
        if ticks and self._on_ticks is not None:
            self._on_ticks(ticks)


def _tick(item: list[Any]) -> Tick:
    repository, installation_id, issue = item
    return Tick(str(repository), None if installation_id is None else int(installation_id), int(issue))
