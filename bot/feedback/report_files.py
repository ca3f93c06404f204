"""Report images and logs, served by the bot itself at ``/reports/{token}/{file}``.

GitHub has no image upload API for Apps and proxies image URLs through its camo cache, so
each run's PNGs are published under an unguessable 128-bit token, immutable, with long
cache headers. Old reports are deleted after the retention period.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
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

    def publish(self, files: list[Path]) -> Published:
        """Copy ``files`` (PNGs, the log, the report) under a new random token."""
        if time.time() - self._last_prune > PRUNE_EVERY:
            self.prune()
        token = secrets.token_hex(16)  # 128 bits
        folder = self.root / token
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for path in files:
            if path.is_file() and FILE.match(path.name):
                shutil.copyfile(path, folder / path.name)
                names.append(path.name)
        return Published(token, f"{self.public_url}/reports/{token}/", tuple(names))

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
                return PlainTextResponse("Not Found", status_code=404)
            media = MEDIA_TYPES[name.rsplit(".", 1)[1]]
            return FileResponse(path, media_type=media, headers={"Cache-Control": CACHE_FOREVER})

        return Route("/reports/{token}/{file}", serve, methods=["GET", "HEAD"])
