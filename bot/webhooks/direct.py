"""``modelgate serve`` answers ``POST /api/github/webhooks`` from uvicorn's HTTP protocol itself.

uvicorn hands every request to the app as an ASGI cycle: a task, a coroutine, message dicts for the body
and the answer, an event to wake the reader, header checks on the way out. For the one endpoint that takes
every delivery, that cycle cost more CPU than verifying and storing the delivery (bench/README.md). Here the
protocol keeps uvicorn's parsing (httptools), its connection handling (keep-alive, pipelining, graceful
shutdown, ``limit_concurrency``) and its request object, and runs the endpoint's steps
(``bot.webhooks.intake``) straight from the parser's callbacks: early refusal when the headers are in, the
body gathered under the size cap and the read deadline, then verify, route and queue for the next commit;
the answer goes out in one write when the commit's future is done. Every other request, and this path's
other methods, go to the ASGI app as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from bot.webhooks.http_limits import LimitedHttpToolsProtocol
from bot.webhooks.intake import (
    MAX_BODY_BYTES,
    PATH,
    Accepted,
    Answer,
    Refusal,
    WebhookIntake,
    request_headers,
)

if TYPE_CHECKING:
    from uvicorn._types import ASGI3Application
    from uvicorn.config import Config
    from uvicorn.server import ServerState

log = logging.getLogger(__name__)

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class ServeProtocol(LimitedHttpToolsProtocol):
    """uvicorn's httptools protocol with modelgate's limits, answering the webhook endpoint itself when the
    app offers its ``webhook_intake`` (``bot.server.WebhookFastPath``)."""

    def __init__(
        self, config: Config, server_state: ServerState, app_state: dict[str, Any] | None = None,
        _loop: asyncio.AbstractEventLoop | None = None, *, max_header_bytes: int, read_timeout: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop, max_header_bytes=max_header_bytes,
                         read_timeout=read_timeout)
        intake = getattr(self.app, "webhook_intake", None)
        self._intake = intake if isinstance(intake, WebhookIntake) else None
        self._exchange: _Exchange | None = None  # the delivery being answered on this connection

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        """Start a request (at once, or when the one before it on the connection is answered)."""
        scope, intake = cycle.scope, self._intake
        if intake is not None and app is self.app and scope["method"] == "POST" and scope["path"] == PATH:
            self._exchange = _Exchange(self, cycle, intake)
            self._exchange.start()
        else:
            super()._start_asgi_task(cycle, app)

    def on_body(self, body: bytes) -> None:
        exchange = self._exchange
        if exchange is not None and exchange.cycle is self.cycle:
            exchange.received(body)
        else:
            super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        exchange = self._exchange
        if exchange is not None and exchange.cycle is self.cycle:
            exchange.complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._exchange is not None:
            self._exchange.disarm()
        super().connection_lost(exc)

    def answered(self, exchange: _Exchange) -> None:
        """``exchange`` has sent its answer: the connection may start its next request."""
        if self._exchange is exchange:
            self._exchange = None


class _Exchange:
    """One delivery on a connection, from its headers to its answer."""

    __slots__ = ("accepted", "cycle", "deadline", "headers", "intake", "protocol", "started")

    def __init__(self, protocol: ServeProtocol, cycle: RequestResponseCycle, intake: WebhookIntake) -> None:
        self.protocol, self.cycle, self.intake = protocol, cycle, intake
        self.started = time.perf_counter()
        self.headers = request_headers(cycle.scope["headers"])
        self.accepted: Accepted | None = None
        self.deadline: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Refuse what can be refused unread; else read the body (what has arrived is in the cycle)."""
        refusal = self.intake.refuse_unread(self.headers)
        if refusal is not None:
            self.refuse(refusal)
            return
        cycle = self.cycle
        if cycle.waiting_for_100_continue:
            cycle.waiting_for_100_continue = False
            self.protocol.transport.write(_CONTINUE)
        if self.over_cap():
            return
        if cycle.more_body:
            self.protocol.flow.resume_reading()  # paused while it waited behind a pipelined request
            self.deadline = self.protocol.loop.call_later(self.intake.config.read_timeout, self.expired)
        else:
            self.complete()

    def received(self, chunk: bytes) -> None:
        """A piece of the body: kept up to the cap."""
        cycle = self.cycle
        if cycle.response_complete:
            return
        cycle.body += chunk
        self.over_cap()

    def over_cap(self) -> bool:
        """Refuse the request (413, closing) when what has arrived of the body is over the cap."""
        if len(self.cycle.body) <= MAX_BODY_BYTES:
            return False
        self.refuse(Refusal.too_large())
        return True

    def complete(self) -> None:
        """The whole body is in: verify, route and queue it for the next commit."""
        cycle = self.cycle
        if cycle.response_complete or self.accepted is not None:
            return
        self.disarm()
        body, cycle.body = bytes(cycle.body), bytearray()
        try:
            self.accepted = self.intake.accept(self.headers, body, self.started)
        except Refusal as refusal:
            self.refuse(refusal)
            return
        except Exception:  # a bug: answered as uvicorn answers an ASGI app's exception
            log.exception("webhook not handled: event=%.64s",
                          self.headers.get(b"x-github-event", b"-").decode("latin-1"))
            self.answer(Answer.error(500, "internal error", close=True))
            return
        try:
            stored = self.intake.store(self.accepted)
        except Exception as exc:  # the writer has stopped (shutting down)
            self.answer(self.intake.stored(self.accepted, exc))
            return
        stored.add_done_callback(self.stored)

    def stored(self, future: asyncio.Future[bool]) -> None:
        """The commit is done (or failed): answer."""
        assert self.accepted is not None
        result = asyncio.CancelledError() if future.cancelled() else future.exception() or future.result()
        self.answer(self.intake.stored(self.accepted, result))

    def expired(self) -> None:
        self.deadline = None
        timeout = self.intake.config.read_timeout
        self.refuse(Refusal(408, f"body not received within {timeout:g} s", close=True))

    def refuse(self, refusal: Refusal) -> None:
        self.answer(self.intake.refused(self.headers, refusal))

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def answer(self, answer: Answer) -> None:
        """Send ``answer`` in one write, as uvicorn would have sent it; then the connection goes on
        (keep-alive, the next pipelined request) or closes."""
        self.disarm()
        cycle, protocol = self.cycle, self.protocol
        if cycle.response_complete:
            return
        cycle.response_started = cycle.response_complete = True
        protocol.answered(self)
        transport = protocol.transport
        keep_alive = cycle.keep_alive and not answer.close
        if not cycle.disconnected and not transport.is_closing():
            parts = [STATUS_LINE[answer.status]]
            for name, value in cycle.default_headers:  # server and date, as uvicorn sends them
                parts += (name, b": ", value, b"\r\n")
            parts.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(answer.body))
            if not keep_alive:
                parts.append(b"connection: close\r\n")
            parts += (b"\r\n", answer.body)
            transport.write(b"".join(parts))
            if not keep_alive:
                cycle.keep_alive = False
                transport.close()
        cycle.on_response()
