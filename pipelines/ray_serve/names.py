"""What a model's Ray Serve application is called and where it answers: derived from the model name,
which one repository owns, so that no other model's name leads to the same application or route."""

from __future__ import annotations

import hashlib
import re

APP_PREFIX = "modelgate-"  # never an application of the operator's own
_UNSAFE = re.compile(r"[^a-z0-9._~-]+")
MAX_SLUG = 48


def url_name(model: str) -> str:
    """``model`` as a URL path segment: itself when it is one already (lower case letters, digits,
    ``.``, ``_``, ``~``, ``-``, at most 48 characters), else a cleaned form and a hash of the whole name
    (``My Model`` → ``my-model-<8 hex>``), so that two model names never share one."""
    slug = _UNSAFE.sub("-", model.lower()).strip("-._~")[:MAX_SLUG].rstrip("-._~") or "model"
    if slug == model:
        return slug
    return f"{slug}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def app_name(model: str) -> str:
    """The Serve application of ``model``."""
    return APP_PREFIX + url_name(model)


def default_route_prefix(model: str) -> str:
    """Where ``model`` answers under the Serve URL when its config says nothing."""
    return "/" + url_name(model)


def routes_overlap(first: str, second: str) -> bool:
    """Whether two route prefixes share requests: equal, or one a path prefix of the other (Serve
    sends a request to the longest prefix, so ``/wine/invocations`` would take ``/wine``'s traffic).
    An application at ``/`` takes what no other prefix does: it overlaps none."""
    if "/" in (first, second):
        return False
    a, b = first.rstrip("/") + "/", second.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)
