"""``POST /api/github/webhooks`` as an ASGI app, for any ASGI server: the steps of ``bot.webhooks.intake``
with the body read from ASGI messages under a size cap and a deadline. (``modelgate serve`` answers the
endpoint from its HTTP protocol instead: ``bot.webhooks.direct``.)

A plain ASGI callable: no routing or middleware stack between the server and the handler.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bot.webhooks.intake import MAX_BODY_BYTES, Answer, Refusal, WebhookIntake, request_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


async def _send(send: Send, answer: Answer) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(answer.body)).encode())]
    if answer.close:  # uvicorn closes the connection after this response: the rest is never read
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _read_body(receive: Receive, timeout: float) -> bytes:
    """The body, at most MAX_BODY_BYTES and within ``timeout`` seconds; reading stops at the cap."""
    try:
        async with asyncio.timeout(timeout):
            return await _read_capped(receive)
    except TimeoutError:
        raise Refusal(408, f"body not received within {timeout:g} s", close=True) from None


async def _read_capped(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "client disconnected", close=True)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refusal.too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class WebhookIngest:
    """The ASGI app behind ``POST /api/github/webhooks``."""

    def __init__(self, intake: WebhookIntake) -> None:
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _send(send, Answer.error(405, "use POST"))
            return
        started = time.perf_counter()
        headers = request_headers(scope["headers"])
        try:
            refusal = self.intake.refuse_unread(headers)
            if refusal is not None:
                raise refusal
            body = await _read_body(receive, self.intake.config.read_timeout)
            accepted = self.intake.accept(headers, body, started)
        except Refusal as refused:
            await _send(send, self.intake.refused(headers, refused))
            return
        result: bool | BaseException
        try:
            result = await self.intake.store(accepted)
        except Exception as exc:
            result = exc
        await _send(send, self.intake.stored(accepted, result))
