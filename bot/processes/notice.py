"""Runs queued in one process, told to another: ``modelgate serve``'s intake processes commit deliveries,
and its background process (the run workers) hears at once which deliveries queued a run of their own,
to wake a worker.

One datagram per commit, the GUIDs one a line, over a Unix datagram socket pair the supervisor made (its
receiving end outlives a restarted background process, so nothing sent meanwhile is lost). Sending never
blocks the intake's event loop: when the receiver's queue is full the GUIDs wait and go with the next
commit's, or 5 ms later. The workers also poll the store every second, so a lost notice only delays.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
RETRY_SECONDS = 0.005
MAX_DATAGRAM = 60_000  # GUIDs of one commit (≤ 256 of ≤ 64 characters) fit many times over


def notice_pair() -> tuple[socket.socket, socket.socket]:
    """The (sending, receiving) ends; pass them to the processes (``multiprocessing`` carries sockets)."""
    sending, receiving = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    return sending, receiving


class RunsNotifier:
    """The sending end, as a writer's ``on_runs_queued`` listener."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._backlog: list[str] = []
        self._lock = threading.Lock()
        self._retry: threading.Timer | None = None

    def __call__(self, delivery_guids: list[str]) -> None:
        """Tell the receiver that these deliveries queued runs."""
        with self._lock:
            self._backlog.extend(delivery_guids)
            self._send()

    def _send(self) -> None:
        while self._backlog:
            chunk, size = [], 0
            for guid in self._backlog:
                if size + len(guid) + 1 > MAX_DATAGRAM:
                    break
                chunk.append(guid)
                size += len(guid) + 1
            try:
                self._sock.send("\n".join(chunk).encode())
            except BlockingIOError:  # the receiver is behind (or restarting): later
                if self._retry is None:
                    self._retry = threading.Timer(RETRY_SECONDS, self._retried)
                    self._retry.daemon = True
                    self._retry.start()
                return
            except OSError as exc:
                log.warning("could not tell the workers of %d queued runs: %s", len(chunk), exc)
            del self._backlog[:len(chunk)]

    def _retried(self) -> None:
        with self._lock:
            self._retry = None
            self._send()


class RunsListener:
    """The receiving end: a thread that calls ``on_runs`` with each notice's GUIDs."""

    def __init__(self, sock: socket.socket, on_runs: Callable[[list[str]], None]) -> None:
        self._sock = sock
        self._on_runs = on_runs
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
                self._on_runs(data.decode().split("\n"))
            except Exception:
                log.exception("handling queued runs failed")
