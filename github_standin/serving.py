"""Run an ASGI app under a real uvicorn server on a loopback port, in a thread (demo, tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serve(
    app: Any, port: int | None = None, startup_timeout: float = 30.0, options: Mapping[str, Any] | None = None
) -> Iterator[str]:
    """Serve ``app`` (lifespan on) until the block ends; yields its base URL. Without ``port`` the
    server listens on a socket bound here to a port the system picks (no race for a free port).
    ``options``: more ``uvicorn.Config`` arguments (e.g. ``modelgate serve``'s limits)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, **{
        "loop": "uvloop", "http": "httptools", "lifespan": "on", "access_log": False,
        "log_level": "warning", **(options or {}), "host": "127.0.0.1", "port": port,
    })
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"server on port {port} failed to start")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"server on port {port} did not start in {startup_timeout}s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
