"""How a sandbox is configured: where webhooks go, the secret, and the App's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

DEFAULT_PORT = 8900
DEFAULT_SECRET = "sandbox-webhook-secret"
# the configured App's installation permissions (no ``administration``: branch protection is refused)
APP_PERMISSIONS = {"checks": "write", "contents": "read", "deployments": "write",
                   "issues": "write", "metadata": "read", "pull_requests": "write",
                   "statuses": "write"}
APP_EVENTS = ("check_run", "check_suite", "issue_comment", "issues", "pull_request", "push")


def _read_pem(value: str | bytes | Path) -> str:
    """PEM text from PEM text/bytes or from a file path."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()


def public_key_from_private(private_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM of an RSA private key PEM."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@dataclass(frozen=True)
class SandboxConfig:
    """Settings of one sandbox. ``app_private_key_pem`` is optional (tools that act as the App read it)."""

    app_public_key_pem: str
    app_id: int = 1
    webhook_secret: str = DEFAULT_SECRET
    webhook_url: str | None = None
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    app_slug: str = "modelgate"
    app_name: str = "modelgate"
    app_owner: str = "modelgate-dev"
    installation_id: int = 1
    public_url: str | None = None  # base URL used in bodies; default: the request's own
    webhook_timeout: float = 10.0  # GitHub gives a receiver 10 s
    required_contexts: tuple[str, ...] = ("modelgate/staging",)  # default-branch protection
    app_private_key_pem: str | None = None
    app_permissions: dict[str, str] = field(default_factory=lambda: dict(APP_PERMISSIONS))
    app_events: tuple[str, ...] = APP_EVENTS

    @classmethod
    def from_private_key(cls, private_key: str | bytes | Path, **kwargs: Any) -> SandboxConfig:
        """Build a config from the App's private key (PEM text/bytes or a path)."""
        pem = _read_pem(private_key)
        return cls(app_public_key_pem=public_key_from_private(pem), app_private_key_pem=pem,
                   **kwargs)

    @classmethod
    def from_public_key(cls, public_key: str | bytes | Path, **kwargs: Any) -> SandboxConfig:
        """Build a config from the App's public key (PEM text/bytes or a path)."""
        pem = _read_pem(public_key)
        serialization.load_pem_public_key(pem.encode())  # fail early on garbage
        return cls(app_public_key_pem=pem, **kwargs)

    @property
    def bot_login(self) -> str:
        """The App's bot user, e.g. ``modelgate[bot]``."""
        return f"{self.app_slug}[bot]"
