"""What answering a webhook delivery takes, whichever HTTP front end carries it.

Order matters: declared size and the signature header's shape (``refuse_unread``, before a byte of the
body is read) → the body, read by the front end under a size cap and a deadline → signature (over the raw
bytes, before any parsing), headers, payload (``accept``) → durable insert keyed by ``X-GitHub-Delivery``
(``store``) → the answer (``stored``). A request refused before its body was read is answered with
``Connection: close``, so the rest is never read. No GitHub call happens here, and the body of a rejected
request is never logged.

Everything here but storing is synchronous: ``modelgate serve`` answers the endpoint from uvicorn's HTTP
protocol itself (``bot.webhooks.direct``, no ASGI cycle on the hot path); any ASGI server gets the same
endpoint through ``bot.webhooks.ingest``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from bot.logs import log_context
from bot.metrics import INGEST_SECONDS, count_delivery
from bot.store import IncomingDelivery
from bot.webhooks import signature
from bot.webhooks.routing import PayloadError, route
from bot.webhooks.writer import DeliveryWriter

log = logging.getLogger(__name__)

PATH = "/api/github/webhooks"
MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
MAX_GUID_LENGTH = 64
READ_TIMEOUT_SECONDS = 10.0  # GitHub itself gives up on a delivery after 10 s

Headers = dict[bytes, bytes]
_WANTED = frozenset({b"x-github-event", b"x-github-delivery", b"x-hub-signature-256", b"content-length"})


@dataclass(frozen=True)
class IngestConfig:
    """What the endpoint needs: the secret, our App id (to spot our own check runs), and how
    long a body may take to arrive."""

    secret: bytes
    app_id: int | None
    read_timeout: float = READ_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, JSON body, and whether the connection closes after it."""

    status: int
    body: bytes
    close: bool = False

    @classmethod
    def error(cls, status: int, message: str, *, close: bool = False) -> Answer:
        """``{"error": message}``."""
        return cls(status, json.dumps({"error": message}).encode(), close)


class Refusal(Exception):
    """A refused request; ``close``: the body was not (fully) read, so drop the connection."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.close = status, close

    @classmethod
    def too_large(cls) -> Refusal:
        """A body over ``MAX_BODY_BYTES``, declared or read so far: the rest is not read."""
        return cls(413, f"body larger than {MAX_BODY_BYTES} bytes", close=True)


def request_headers(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """The request headers the endpoint reads, from lower-cased (name, value) pairs."""
    return {name: value for name, value in headers if name in _WANTED}


@dataclass(frozen=True)
class Accepted:
    """A verified, parsed delivery on its way to the store."""

    delivery: IncomingDelivery
    started: float  # perf_counter when the request's headers were read


class WebhookIntake:
    """The endpoint's steps (see the module note); the front end reads the body and writes the answer."""

    def __init__(self, config: IngestConfig, writer: DeliveryWriter) -> None:
        self.config = config
        self._writer = writer

    def refuse_unread(self, headers: Headers) -> Refusal | None:
        """Why the request is refused before its body is read, if it is."""
        declared = headers.get(b"content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return Refusal.too_large()
        if not signature.well_formed(_text(headers.get(b"x-hub-signature-256"))):
            return Refusal(401, "missing or invalid X-Hub-Signature-256", close=True)
        return None

    def accept(self, headers: Headers, body: bytes, started: float) -> Accepted:
        """Verify and route a delivery; raises ``Refusal``."""
        if not signature.verify(self.config.secret, body, _text(headers.get(b"x-hub-signature-256"))):
            raise Refusal(401, "missing or invalid X-Hub-Signature-256")
        event, guid = _event(headers), _guid(headers)
        if not event or not guid:
            raise Refusal(400, f"missing {'X-GitHub-Event' if not event else 'X-GitHub-Delivery'} header")
        if len(guid) > MAX_GUID_LENGTH:
            raise Refusal(400, f"X-GitHub-Delivery is longer than {MAX_GUID_LENGTH} characters")
        try:
            return Accepted(route(guid, event, body, self.config.app_id), started)
        except PayloadError as exc:
            raise Refusal(400, str(exc)) from None

    def store(self, accepted: Accepted) -> asyncio.Future[bool]:
        """Queue the delivery for the next commit: the future is True when it is new."""
        return self._writer.enqueue(accepted.delivery)

    def stored(self, accepted: Accepted, result: bool | BaseException) -> Answer:
        """The answer once the store has answered (``result``: new, or the error)."""
        delivery = accepted.delivery
        if isinstance(result, BaseException):
            count_delivery(delivery.event, "error")
            with self._context(delivery):
                log.error("webhook not stored: event=%s delivery=%s", delivery.event, delivery.guid,
                          exc_info=result)
            return Answer.error(503, "could not store the delivery; redeliver it")
        outcome = delivery.outcome if result else "duplicate"
        count_delivery(delivery.event, outcome)
        INGEST_SECONDS.observe(time.perf_counter() - accepted.started)
        if log.isEnabledFor(logging.INFO):
            with self._context(delivery):
                log.info("webhook %s: event=%s action=%s delivery=%s", outcome, delivery.event,
                         delivery.action or "-", delivery.guid)
        return Answer(202 if result else 200, b'{"delivery": %s, "outcome": "%s"}' % (
            json.dumps(delivery.guid).encode(), outcome.encode()))

    def refused(self, headers: Headers, refusal: Refusal) -> Answer:
        """Count and log a refusal (the headers may be anyone's: shown shortened); its answer."""
        event, guid = _event(headers), _guid(headers)
        count_delivery(event, "rejected")
        log.warning("webhook rejected: status=%d event=%.64s delivery=%.64s reason=%s",
                    refusal.status, event or "-", guid or "-", refusal)
        return Answer.error(refusal.status, str(refusal), close=refusal.close)

    @staticmethod
    def _context(delivery: IncomingDelivery) -> AbstractContextManager[None]:
        head_sha = delivery.job.head_sha if delivery.job else delivery.summary.get("head_sha")
        return log_context(delivery_id=delivery.guid, repository=delivery.repository, sha=head_sha)


def _event(headers: Headers) -> str:
    return headers.get(b"x-github-event", b"").decode("latin-1")


def _guid(headers: Headers) -> str:
    return headers.get(b"x-github-delivery", b"").decode("latin-1")


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
