"""``POST /api/github/webhooks``: verify, route, store durably, answer 202.

Order matters: size → signature (over the raw bytes, before any parsing) → headers →
payload → durable insert keyed by ``X-GitHub-Delivery``. No GitHub call happens here, and
the body of a rejected request is never logged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from bot.metrics import DELIVERIES, INGEST_SECONDS
from bot.webhooks import signature
from bot.webhooks.routing import PayloadError, route
from bot.webhooks.writer import GroupCommitWriter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


@dataclass(frozen=True)
class IngestConfig:
    """What the endpoint needs: the secret, our App id (to spot our own check runs)."""

    secret: bytes
    app_id: int | None


class _TooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _reject(event: str, status: int, message: str, guid: str | None) -> Response:
    DELIVERIES.labels(event=event or "unknown", outcome="rejected").inc()
    log.warning("webhook rejected: status=%d event=%s delivery=%s reason=%s", status, event, guid, message)
    return JSONResponse({"error": message}, status_code=status)


def make_endpoint(config: IngestConfig, writer: GroupCommitWriter):  # type: ignore[no-untyped-def]
    """Build the Starlette endpoint bound to a secret and a delivery writer."""

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        headers = request.headers
        event = headers.get("x-github-event", "")
        guid = headers.get("x-github-delivery")
        try:
            body = await _read_body(request)
        except _TooLarge:
            return _reject(event, 413, f"body larger than {MAX_BODY_BYTES} bytes", guid)
        except ClientDisconnect:
            return Response(status_code=400)
        if not signature.verify(config.secret, body, headers.get("x-hub-signature-256")):
            return _reject(event, 401, "missing or invalid X-Hub-Signature-256", guid)
        if not event or not guid:
            missing = "X-GitHub-Event" if not event else "X-GitHub-Delivery"
            return _reject(event, 400, f"missing {missing} header", guid)
        if len(guid) > 64:
            return _reject(event, 400, "X-GitHub-Delivery is longer than 64 characters", guid)
        try:
            delivery = route(guid, event, body, config.app_id)
        except PayloadError as exc:
            return _reject(event, 400, str(exc), guid)
        try:
            new = await writer.submit(delivery)
        except Exception:
            log.exception("webhook not stored: event=%s delivery=%s", event, guid)
            DELIVERIES.labels(event=event, outcome="error").inc()
            return JSONResponse({"error": "could not store the delivery; redeliver it"}, status_code=503)
        outcome = delivery.outcome if new else "duplicate"
        DELIVERIES.labels(event=event, outcome=outcome).inc()
        INGEST_SECONDS.observe(time.perf_counter() - started)
        return JSONResponse({"delivery": guid, "outcome": outcome}, status_code=202 if new else 200)

    return webhook
