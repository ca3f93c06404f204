"""uvicorn's options for ``modelgate serve``: its HTTP protocol (``bot.webhooks.direct``: the limits of
``bot.webhooks.http_limits`` and the webhook endpoint answered without an ASGI cycle) and the rest."""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, cast

from bot.webhooks.direct import ServeProtocol

if TYPE_CHECKING:
    from bot.settings import Settings


def serve_protocol(max_header_bytes: int, read_timeout: float) -> type[asyncio.Protocol]:
    """The protocol to pass as uvicorn's ``http`` (a picklable partial, for ``--processes``)."""
    bound = functools.partial(ServeProtocol, max_header_bytes=max_header_bytes, read_timeout=read_timeout)
    return cast("type[asyncio.Protocol]", bound)  # uvicorn only calls it with keyword arguments


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's keyword arguments for ``modelgate serve`` (everything but the app)."""
    return {
        "host": settings.host, "port": settings.port, "loop": "uvloop",
        "http": serve_protocol(settings.http_max_header_bytes, settings.http_read_timeout_seconds),
        "h11_max_incomplete_event_size": settings.http_max_header_bytes,  # should h11 be chosen
        "limit_concurrency": settings.http_max_concurrency,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "access_log": False, "log_level": settings.log_level.lower(), "lifespan": "on",
        # nothing reads the client's address or scheme (links use MODELGATE_PUBLIC_URL): no X-Forwarded-*
        # rewriting middleware in front of every request
        "proxy_headers": False,
        # MODELGATE_LOG_FORMAT=json: uvicorn's own lines go through the root logger's JSON handler too
        **({"log_config": None} if settings.log_format == "json" else {}),
    }
