"""``POST /api/github/webhooks``: verify, route, store durably, answer 202.

Order matters: declared size and the signature header's shape (before a byte of the body is
read) → the body, streamed under a size cap and a deadline → signature (over the raw bytes,
before any parsing) → headers → payload → durable insert keyed by ``X-GitHub-Delivery``. A
request refused before its body was read is answered with ``Connection: close``, so the rest is
never read. No GitHub call happens here, and the body of a rejected request is never logged.

This is the hot path of the receiver, so it is a plain ASGI callable: no routing or
middleware stack between uvicorn and the handler.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from bot.logs import log_context
from bot.metrics import INGEST_SECONDS, count_delivery
from bot.webhooks import signature
from bot.webhooks.routing import PayloadError, route
from bot.webhooks.writer import DeliveryWriter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
MAX_GUID_LENGTH = 64
READ_TIMEOUT_SECONDS = 10.0  # GitHub itself gives up on a delivery after 10 s

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class IngestConfig:
    """What the endpoint needs: the secret, our App id (to spot our own check runs), and how
    long a body may take to arrive."""

    secret: bytes
    app_id: int | None
    read_timeout: float = READ_TIMEOUT_SECONDS


class _Rejected(Exception):
    """A refused request; ``close``: the body was not (fully) read, so drop the connection."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.close = status, close


async def _respond(send: Send, status: int, payload: dict[str, str], *, close: bool = False) -> None:
    await _answer(send, status, json.dumps(payload).encode(), close=close)


async def _answer(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    """Send ``body`` (JSON) as the whole answer (the accepted ones' body is formatted by the caller: a
    ``json.dumps`` of a dict took as long as the rest of the answer)."""
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    if close:  # uvicorn closes the connection after this response: the rest is never read
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, timeout: float) -> bytes:
    """The body, at most MAX_BODY_BYTES and within ``timeout`` seconds; reading stops at the cap."""
    try:
        async with asyncio.timeout(timeout):
            return await _read_capped(receive)
    except TimeoutError:
        raise _Rejected(408, f"body not received within {timeout:g} s", close=True) from None


async def _read_capped(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Rejected(400, "client disconnected", close=True)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes", close=True)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request headers we read (ASGI gives them lower-cased)."""
    wanted = {b"x-github-event", b"x-github-delivery", b"x-hub-signature-256", b"content-length"}
    return {name: value for name, value in scope["headers"] if name in wanted}


class WebhookIngest:
    """The ASGI app behind ``POST /api/github/webhooks``."""

    def __init__(self, config: IngestConfig, writer: DeliveryWriter) -> None:
        self._config = config
        self._writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _respond(send, 405, {"error": "use POST"})
            return
        started = time.perf_counter()
        headers = _headers(scope)
        event = headers.get(b"x-github-event", b"").decode("latin-1")
        guid = headers.get(b"x-github-delivery", b"").decode("latin-1")
        try:
            status, outcome = await self._ingest(headers, event, guid, receive)
        except _Rejected as rejected:
            count_delivery(event, "rejected")
            log.warning(  # the headers may be anyone's: shown shortened
                "webhook rejected: status=%d event=%.64s delivery=%.64s reason=%s",
                rejected.status, event or "-", guid or "-", rejected,
            )
            await _respond(send, rejected.status, {"error": str(rejected)}, close=rejected.close)
            return
        count_delivery(event, outcome)
        if outcome == "error":
            await _respond(send, 503, {"error": "could not store the delivery; redeliver it"})
            return
        INGEST_SECONDS.observe(time.perf_counter() - started)
        await _answer(send, status, b'{"delivery": %s, "outcome": "%s"}' % (
            json.dumps(guid).encode(), outcome.encode()))

    async def _ingest(
        self, headers: dict[bytes, bytes], event: str, guid: str, receive: Receive
    ) -> tuple[int, str]:
        declared = headers.get(b"content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes", close=True)
        header = _text(headers.get(b"x-hub-signature-256"))
        if not signature.well_formed(header):  # nothing to verify: refuse before reading the body
            raise _Rejected(401, "missing or invalid X-Hub-Signature-256", close=True)
        body = await _read_body(receive, self._config.read_timeout)
        if not signature.verify(self._config.secret, body, header):
            raise _Rejected(401, "missing or invalid X-Hub-Signature-256")
        if not event or not guid:
            raise _Rejected(400, f"missing {'X-GitHub-Event' if not event else 'X-GitHub-Delivery'} header")
        if len(guid) > MAX_GUID_LENGTH:
            raise _Rejected(400, f"X-GitHub-Delivery is longer than {MAX_GUID_LENGTH} characters")
        try:
            delivery = route(guid, event, body, self._config.app_id)
        except PayloadError as exc:
            raise _Rejected(400, str(exc)) from None
        head_sha = delivery.job.head_sha if delivery.job else delivery.summary.get("head_sha")
        with log_context(delivery_id=guid, repository=delivery.repository, sha=head_sha):
            try:
                new = await self._writer.submit(delivery)
            except Exception:
                log.exception("webhook not stored: event=%s delivery=%s", event, guid)
                return 503, "error"
            log.info("webhook %s: event=%s action=%s delivery=%s", delivery.outcome if new else "duplicate",
                     event, delivery.action or "-", guid)
        return (202, delivery.outcome) if new else (200, "duplicate")


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
