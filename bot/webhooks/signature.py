"""GitHub webhook signatures (``X-Hub-Signature-256``): HMAC-SHA256 over the raw body."""

from __future__ import annotations

import hashlib
import hmac
import re

PREFIX = "sha256="
_WELL_FORMED = re.compile(r"sha256=[0-9a-f]{64}")


def sign(secret: str | bytes, body: bytes) -> str:
    """Return the ``X-Hub-Signature-256`` header value GitHub would send for ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return PREFIX + hmac.digest(key, body, hashlib.sha256).hex()  # one-shot: no HMAC object


def verify(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True when ``header`` is a valid sha256 signature of ``body``; constant-time compare.

    Only the ``sha256=`` form is accepted: the legacy ``sha1=`` header is never trusted.
    """
    if not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def well_formed(header: str | None) -> bool:
    """Whether ``header`` has the shape of a sha256 signature (``sha256=`` and 64 hex digits).

    Checked before the body is read, so a request that cannot be signed is refused unread.
    """
    return header is not None and _WELL_FORMED.fullmatch(header.strip()) is not None
