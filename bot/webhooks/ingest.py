"""``POST /api/github/webhooks``: verify, route, store durably, answer 202.

Order matters: size → signature (over the raw bytes, before any parsing) → headers →
payload → durable insert keyed by ``X-GitHub-Delivery``. No GitHub call happens here, and
the body of a rejected request is never logged.

This is the hot path of the receiver, so it is a plain ASGI callable: no routing or
middleware stack between uvicorn and the handler.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from bot.metrics import DELIVERIES, INGEST_SECONDS
from bot.webhooks import signature
from bot.webhooks.routing import PayloadError, route
from bot.webhooks.writer import DeliveryWriter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
MAX_GUID_LENGTH = 64

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class IngestConfig:
    """What the endpoint needs: the secret, our App id (to spot our own check runs)."""

    secret: bytes
    app_id: int | None


class _Rejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _respond(send: Send, status: int, payload: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, declared: int | None) -> bytes:
    if declared is not None and declared > MAX_BODY_BYTES:
        raise _Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Rejected(400, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes")
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
            DELIVERIES.labels(event=event or "unknown", outcome="rejected").inc()
            log.warning(
                "webhook rejected: status=%d event=%s delivery=%s reason=%s",
                rejected.status, event or "-", guid or "-", rejected,
            )
            await _respond(send, rejected.status, {"error": str(rejected)})
            return
        DELIVERIES.labels(event=event, outcome=outcome).inc()
        if outcome == "error":
            await _respond(send, 503, {"error": "could not store the delivery; redeliver it"})
            return
        INGEST_SECONDS.observe(time.perf_counter() - started)
        await _respond(send, status, {"delivery": guid, "outcome": outcome})

    async def _ingest(
        self, headers: dict[bytes, bytes], event: str, guid: str, receive: Receive
    ) -> tuple[int, str]:
        declared = headers.get(b"content-length")
        body = await _read_body(receive, int(declared) if declared and declared.isdigit() else None)
        if not signature.verify(self._config.secret, body, _text(headers.get(b"x-hub-signature-256"))):
            raise _Rejected(401, "missing or invalid X-Hub-Signature-256")
        if not event or not guid:
            raise _Rejected(400, f"missing {'X-GitHub-Event' if not event else 'X-GitHub-Delivery'} header")
        if len(guid) > MAX_GUID_LENGTH:
            raise _Rejected(400, f"X-GitHub-Delivery is longer than {MAX_GUID_LENGTH} characters")
        try:
            delivery = route(guid, event, body, self._config.app_id)
        except PayloadError as exc:
            raise _Rejected(400, str(exc)) from None
        try:
            new = await self._writer.submit(delivery)
        except Exception:
            log.exception("webhook not stored: event=%s delivery=%s", event, guid)
            return 503, "error"
        return (202, delivery.outcome) if new else (200, "duplicate")


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
