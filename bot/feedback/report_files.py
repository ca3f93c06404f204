"""Report images and logs, served by the bot itself at ``/reports/{token}/{file}``.

GitHub has no image upload API for Apps and proxies image URLs through its camo cache, so
each run's PNGs are published under an unguessable 128-bit token, immutable, with long
cache headers. Old reports are deleted after the retention period.

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
import shutil
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

TOKEN = re.compile(r"^[0-9a-f]{32}$")
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
    """Publishes run files under ``<root>/<token>/`` and serves them."""

    def __init__(self, root: Path, public_url: str | None, retention_days: float = 30.0) -> None:
        self.root = root
        self.public_url = (public_url or "").rstrip("/")
        self.retention_seconds = retention_days * 86_400
        self._last_prune = 0.0

    def publish(self, files: list[Path], texts: Mapping[str, bytes] | None = None) -> Published:
        """Copy ``files`` (PNGs, the report) and write ``texts`` (name → bytes: the log, which
        never passes through the job's folder) under a new random token."""
        if time.time() - self._last_prune > PRUNE_EVERY:
            self.prune()
        token = secrets.token_hex(16)  # 128 bits
        folder = self.root / token
        folder.mkdir(parents=True, exist_ok=True)
        contents = dict(texts or {})
        for path in files:
            if not FILE.match(path.name):
                continue
            try:
                contents[path.name] = _publishable(path)
            except NotPublishable as refused:
                log.warning("report file %s not published: %s", path, refused)
        names = tuple(sorted(name for name in contents if FILE.match(name)))
        for name in names:
            (folder / name).write_bytes(contents[name])
        return Published(token, f"{self.public_url}/reports/{token}/", names)

    def prune(self, now: float | None = None) -> int:
        """Delete published reports older than the retention period; returns how many."""
        self._last_prune = time.time()
        cutoff = (now if now is not None else time.time()) - self.retention_seconds
        removed = 0
        if not self.root.is_dir():
            return 0
        for folder in self.root.iterdir():
            if TOKEN.match(folder.name) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        if removed:
            log.info("pruned %d reports older than the retention period", removed)
        return removed

    def route(self) -> Route:
        """``GET /reports/{token}/{file}``: the file, or 404 for anything unknown."""

        async def serve(request: Request) -> Response:
            token, name = request.path_params["token"], request.path_params["file"]
            path = self.root / token / name
            if not TOKEN.match(token) or not FILE.match(name) or not path.is_file():
                return PlainTextResponse("Not Found", status_code=404, headers=SECURITY_HEADERS)
            media = MEDIA_TYPES[name.rsplit(".", 1)[1]]
            headers = {"Cache-Control": CACHE_FOREVER, **SECURITY_HEADERS}
            return FileResponse(path, media_type=media, headers=headers)

        return Route("/reports/{token}/{file}", serve, methods=["GET", "HEAD"])
