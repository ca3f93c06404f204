"""uvicorn's options for ``modelgate serve``, and the two limits uvicorn leaves to its h11 parser.

uvicorn caps a request's header size only with ``http="h11"`` (``h11_max_incomplete_event_size``)
and has no deadline for a request to arrive: a client may open a connection and trickle bytes
forever, holding one of the ``limit_concurrency`` slots. ``LimitedHttpToolsProtocol`` keeps the
fast httptools parser and adds both: more than ``max_header_bytes`` before the end of the headers
is answered ``431``, headers not complete ``read_timeout`` seconds after the connection opened (or
the previous request began) ``408``, and the connection is closed. The webhook endpoint applies
the same deadline to its body (``bot.webhooks.direct``, ``bot.webhooks.ingest``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.webhooks.one_write import OneWrite

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState


_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with a header-size cap and a deadline for the headers (see the module note)."""

    def __init__(
        self, config: Config, server_state: ServerState, app_state: dict[str, Any] | None = None,
        _loop: asyncio.AbstractEventLoop | None = None, *, max_header_bytes: int, read_timeout: float,
    ) -> None:
        super().__init__(config, server_state, app_state or {}, _loop)
        self.max_header_bytes, self.read_timeout = max_header_bytes, read_timeout
        self._header_bytes = 0
        self._awaiting_headers = True
        self._message_completed = False  # a message ended in the chunk being parsed (pipelining)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._message_completed = False
        super().data_received(data)
        # Still inside the headers: all of this chunk is header bytes, unless a pipelined message
        # ended in it (then the count restarts with the next chunk: at most one chunk more).
        if self._awaiting_headers and not self._message_completed and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431, f"request headers larger than {self.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes, self._awaiting_headers = 0, True
        self._arm()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None:  # its response goes out in one write (bot.webhooks.one_write)
            self.cycle.transport = OneWrite(self.transport)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._message_completed = True
        super().on_message_complete()

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.read_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._awaiting_headers and not self.transport.is_closing():
            self._refuse(408, f"request headers not received within {self.read_timeout:g} s")

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        if self.cycle is None or self.cycle.response_complete:  # never inside another response
            body = message.encode()
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (status, _REASONS[status], len(body), body)
            )
        self.transport.close()
