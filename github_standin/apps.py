"""The GitHub Apps the stand-in knows: the configured one, and those created from a manifest.

An App created through the manifest flow gets a new id, slug, key pair, webhook secret and client
secret; the stand-in accepts its JWTs from then on. As the stand-in's simplification it is installed at
once on every repository (an installation of its own, with the manifest's ``default_permissions``), and it
gets webhooks at the manifest's ``hook_attributes.url`` (``hooks``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from github_standin.config import SandboxConfig, public_key_from_private

CODE_TTL = 3600  # a manifest code is valid for one hour, once
ACCESS_LEVELS = {"read": 1, "write": 2, "admin": 3}
MAX_NAME = 34  # GitHub's limit on an App's name


@dataclass
class StandinApp:
    """One GitHub App: its identity, the keys its JWTs are checked with, and its one installation."""

    id: int
    slug: str
    name: str
    owner: str
    public_keys: list[str]
    installation_id: int
    permissions: dict[str, str]
    events: list[str]
    webhook_secret: str | None
    hook_url: str | None = None
    external_url: str | None = None
    description: str | None = None

    @property
    def client_id(self) -> str:
        """The App's OAuth client id."""
        return f"Iv1.sandbox{self.id:08d}"

    def allows(self, permission: str, level: str) -> bool:
        """True when the App's installation has ``permission`` at ``level`` (read < write < admin)."""
        held = self.permissions.get(permission)
        return held is not None and ACCESS_LEVELS.get(held, 0) >= ACCESS_LEVELS[level]


@dataclass
class ManifestCode:
    """A ``code`` GitHub's redirect carries: the manifest and who confirmed it, valid until ``expires``."""

    manifest: dict[str, Any]
    owner: str
    expires: float


@dataclass
class CreatedApp:
    """What a conversion hands back once: the new App and its secrets."""

    app: StandinApp
    pem: str = field(repr=False)
    client_secret: str = field(repr=False)


def configured_app(config: SandboxConfig) -> StandinApp:
    """The App of ``config`` (its key pair is the sandbox's)."""
    return StandinApp(config.app_id, config.app_slug, config.app_name, config.app_owner,
                      [config.app_public_key_pem], config.installation_id, dict(config.app_permissions),
                      list(config.app_events), config.webhook_secret, config.webhook_url)


def slug_of(name: str) -> str:
    """GitHub's slug of an App name: lower case, runs of other characters as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def manifest_problems(manifest: Any) -> list[str]:
    """Why GitHub would refuse ``manifest`` (empty when it is acceptable)."""
    if not isinstance(manifest, dict):
        return ["the manifest must be a JSON object"]
    problems = []
    name = manifest.get("name")
    if not isinstance(name, str) or not slug_of(name):
        problems.append("name is required")
    elif len(name) > MAX_NAME:
        problems.append(f"name is too long (maximum is {MAX_NAME} characters)")
    if not _is_url(manifest.get("url")):
        problems.append("url must be an http(s) URL")
    for key in ("redirect_url", "callback_url", "setup_url"):
        if key in manifest and not _is_url(manifest[key]):
            problems.append(f"{key} must be an http(s) URL")
    hook = manifest.get("hook_attributes")
    if hook is not None and (not isinstance(hook, dict) or not _is_url(hook.get("url"))):
        problems.append("hook_attributes.url must be an http(s) URL")
    permissions = manifest.get("default_permissions", {})
    if not isinstance(permissions, dict) or any(
            not isinstance(k, str) or v not in ACCESS_LEVELS for k, v in permissions.items()):
        problems.append("default_permissions must map permission names to read or write")
    events = manifest.get("default_events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        problems.append("default_events must be a list of event names")
    return problems


def create_app(apps: dict[int, StandinApp], manifest: dict[str, Any], owner: str) -> CreatedApp:
    """A new App from an accepted manifest (ids follow the highest so far), registered in ``apps``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    hook = manifest.get("hook_attributes") or None
    secret = secrets.token_hex(20) if hook else None
    app = StandinApp(
        id=max(apps) + 1, slug=slug_of(manifest["name"]), name=manifest["name"], owner=owner,
        public_keys=[public_key_from_private(pem)],
        installation_id=max(a.installation_id for a in apps.values()) + 1,
        permissions={"metadata": "read", **manifest.get("default_permissions", {})},
        events=sorted(manifest.get("default_events", [])), webhook_secret=secret,
        hook_url=hook["url"] if hook else None, external_url=manifest["url"],
        description=manifest.get("description"))
    apps[app.id] = app
    return CreatedApp(app, pem, secrets.token_hex(20))


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"https?://[^\s/]+", value) is not None
