"""The shared GitHub corpus (../shared/github): real deliveries, exact bytes and headers."""

from __future__ import annotations

import copy
import json
import os
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.webhooks.signature import sign

SHARED = Path(os.environ.get("MODELGATE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
GITHUB = SHARED / "github"
WEBHOOKS = GITHUB / "webhooks"
OPENAPI = GITHUB / "rest-subset.openapi.json"
SECRET = "corpus-webhook-test-secret"
CORPUS_APP_ID = 29310


@dataclass(frozen=True)
class Delivery:
    """One recorded delivery: its name, exact body bytes and GitHub's headers."""

    name: str
    event: str
    body: bytes
    headers: dict[str, str]

    @property
    def guid(self) -> str:
        return self.headers["X-GitHub-Delivery"]

    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@cache
def deliveries() -> dict[str, Delivery]:
    """All 60 corpus deliveries by name."""
    manifest = json.loads((WEBHOOKS / "signatures.json").read_text())
    return {
        name: Delivery(name, d["event"], (WEBHOOKS / d["body"]).read_bytes(), dict(d["headers"]))
        for name, d in manifest["deliveries"].items()
    }


def derive(name: str, change: dict[str, Any] | None = None, secret: str = SECRET, **top: Any) -> Delivery:
    """A new delivery built from a corpus one: deep-merge ``change``, re-sign, fresh GUID."""
    base = deliveries()[name]
    payload = copy.deepcopy(base.payload())
    _merge(payload, change or {})
    payload.update(top)
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = dict(base.headers) | {
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    headers.pop("X-Hub-Signature", None)
    return Delivery(f"{name}+derived", base.event, body, headers)


def _merge(target: dict[str, Any], change: dict[str, Any]) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None and key in target:
            del target[key]
        else:
            target[key] = value
