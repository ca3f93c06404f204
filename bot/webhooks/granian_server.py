"""granian (a Rust HTTP server) as the server of ``modelgate serve``: ``MODELGATE_SERVER=granian``.

granian runs the App in worker processes of its own (``MODELGATE_PROCESSES`` of them, default 1), each
building it from the environment (``bot.server:app_from_environment``) and running its lifespan: the
writer, the acknowledger and the run workers start and stop there as under uvicorn. SIGTERM or SIGINT
to the main process stops the workers gracefully (queued writes are committed, runs in progress end).

The limits of ``bot.webhooks.http_limits`` map onto granian's own: ``MODELGATE_HTTP_MAX_CONCURRENCY``
is its backpressure (requests past it wait instead of being answered 503), the header deadline is
``MODELGATE_HTTP_READ_TIMEOUT_SECONDS``, and the header size is capped by its read buffer (at least
8 KiB). ``MODELGATE_HTTP_KEEP_ALIVE_SECONDS`` has no counterpart: granian keeps idle connections open.
"""

from __future__ import annotations

from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import MPServer

from bot.settings import Settings

MIN_BUFFER_BYTES = 8192  # hyper's smallest read buffer


def granian_server(settings: Settings) -> MPServer:
    """The granian server ``modelgate serve`` runs, configured from ``settings``."""
    return MPServer(  # worker processes (granian's Server on a Python with the GIL)
        "bot.server:app_from_environment", factory=True, interface=Interfaces.ASGI,
        address=settings.host, port=settings.port, workers=settings.processes,
        loop=Loops.uvloop, http=HTTPModes.http1, websockets=False, runtime_mode=RuntimeModes.st,
        backpressure=settings.http_max_concurrency,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(settings.http_read_timeout_seconds * 1000),
            max_buffer_size=max(settings.http_max_header_bytes, MIN_BUFFER_BYTES),
        ),
        log_level=LogLevels(settings.log_level.lower()), log_access=False,
    )


def serve_with_granian(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT (the App's settings must be in the environment: see ``bot.cli``)."""
    granian_server(settings).serve()
