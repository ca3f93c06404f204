"""Report images and logs, served by the bot itself at ``/reports/{token}/{file}``.

GitHub has no image upload API for Apps and proxies image URLs through its camo cache, so
each run's PNGs are published under an unguessable 128-bit token, immutable, with long
cache headers. The files live in the database (``ReportFileStore``), so any replica serves what
any other published. Old reports are deleted after the retention period, except the files a dashboard
issue shows (pinned by ``bot.dashboard``).

The files come from a job's output directory, which the repository's code wrote: only regular
files are published (``lstat``, then opened with ``O_NOFOLLOW`` and checked again on the open
file), PNGs must start with the PNG signature, and each is at most ``MAX_FILE_BYTES``; anything
else is skipped with the reason logged. Every response under ``/reports`` forbids sniffing and
runs under a Content-Security-Policy that allows nothing but same-origin images and styles.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.store import ReportFileStore

log = logging.getLogger(__name__)

TOKEN = re.compile(r"^[0-9a-f]{32}$")
PUBLISHED_URL = re.compile(r"/reports/(?P<token>[0-9a-f]{32})/(?P<name>[^/?#]+)$")
FILE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,80}\.(png|txt|md|json)$")
MEDIA_TYPES = {"png": "image/png", "txt": "text/plain; charset=utf-8",
               "md": "text/markdown; charset=utf-8", "json": "application/json"}
CACHE_FOREVER = "public, max-age=31536000, immutable"
PRUNE_EVERY = 3600.0  # seconds between retention sweeps
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_FILE_BYTES = 20 * 1024 * 1024
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
}


class NotPublishable(Exception):
    """A file that is not published; the message says why."""


def read_regular_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a symlink, FIFO, device...) of at most
    ``limit`` bytes; NotPublishable naming the reason otherwise."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise NotPublishable(f"cannot read it ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise NotPublishable("it is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise NotPublishable("it is not a regular file")
    try:  # O_NOFOLLOW and fstat: it cannot be swapped for a link or a FIFO after the lstat
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise NotPublishable(f"cannot open it ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise NotPublishable("it is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise NotPublishable(f"it is larger than {limit} bytes")
    return data


def _publishable(path: Path) -> bytes:
    """What ``path`` publishes; NotPublishable naming the reason when it does not."""
    data = read_regular_file(path)
    if path.suffix == ".png" and not data.startswith(PNG_SIGNATURE):
        raise NotPublishable("it does not start with the PNG signature")
    return data


@dataclass(frozen=True)
class Published:
    """A published report: its token and the public base URL of its files."""

    token: str
    base_url: str
    files: tuple[str, ...]

    def url(self, name: str) -> str:
        """The public URL of one published file."""
        return f"{self.base_url}{name}"


class ReportFiles:
    """Publishes run files under a new random token (as rows of ``ReportFileStore``) and serves them."""

    def __init__(
        self, engine: Engine, public_url: str | None, retention_days: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = ReportFileStore(engine)
        self.public_url = (public_url or "").rstrip("/")
        self.retention_seconds = retention_days * 86_400
        self._clock = clock
        self._last_prune = 0.0

    def publish(self, files: list[Path], texts: Mapping[str, bytes] | None = None) -> Published:
        """Store ``files`` (PNGs, the report) and ``texts`` (name → bytes: the log, which never
        passes through the job's folder) under a new random token."""
        if self._clock() - self._last_prune > PRUNE_EVERY:
            self.prune()
        token = secrets.token_hex(16)  # 128 bits
        contents = dict(texts or {})
        for path in files:
            if not FILE.match(path.name):
                continue
            try:
                contents[path.name] = _publishable(path)
            except NotPublishable as refused:
                log.warning("report file %s not published: %s", path, refused)
        names = tuple(sorted(name for name in contents if FILE.match(name)))
        rows = {name: (contents[name], _media_type(name)) for name in names}
        self.store.add(token, rows, _utc(self._clock()))
        return Published(token, f"{self.public_url}/reports/{token}/", names)

    def prune(self, now: float | None = None) -> int:
        """Delete published reports older than the retention period; returns how many."""
        self._last_prune = self._clock()
        cutoff = (now if now is not None else self._clock()) - self.retention_seconds
        removed = self.store.delete_older_than(_utc(cutoff))
        if removed:
            log.info("pruned %d reports older than the retention period", removed)
        return removed

    def route(self) -> Route:
        """``GET /reports/{token}/{file}``: the file, or 404 for anything unknown."""

        async def serve(request: Request) -> Response:
            token, name = request.path_params["token"], request.path_params["file"]
            found = None
            if TOKEN.match(token) and FILE.match(name):
                found = await run_in_threadpool(self.store.get, token, name)
            if found is None:
                return PlainTextResponse("Not Found", status_code=404, headers=SECURITY_HEADERS)
            headers = {"Cache-Control": CACHE_FOREVER, **SECURITY_HEADERS}
            return Response(found.content, media_type=found.content_type, headers=headers)

        return Route("/reports/{token}/{file}", serve, methods=["GET", "HEAD"])


def published_file(url: str) -> tuple[str, str] | None:
    """The report token and file name of a URL ``publish`` gave (``Published.url``); None for another URL."""
    found = PUBLISHED_URL.search(url)
    if found is None or not FILE.match(found.group("name")):
        return None
    return found.group("token"), found.group("name")


def _media_type(name: str) -> str:
    """The content type of a published file (its name matched ``FILE``)."""
    return MEDIA_TYPES[name.rsplit(".", 1)[1]]


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
