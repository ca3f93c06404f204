"""Which Apps a webhook goes to, and as what. The configured App gets every event the stand-in sends, at
``webhook_url``; an App created through the manifest flow with ``hook_attributes.url`` gets the events of its
``default_events`` plus ``installation`` and ``installation_repositories`` (GitHub sends those to every App),
at that URL. Each delivery is signed with its App's webhook secret and carries its App's installation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from github_standin.apps import StandinApp
from github_standin.shapes import node_id
from github_standin.state import SandboxState

ALWAYS_SENT = frozenset({"installation", "installation_repositories"})
CONFIGURED_HOOK_ID = "1"


@dataclass(frozen=True)
class Hook:
    """Where one App's deliveries go: its URL (None: the configured App has none set), secret and hook id."""

    app: StandinApp
    url: str | None
    secret: str
    hook_id: str


def hooks_for(state: SandboxState, event: str) -> list[Hook]:
    """The hooks ``event`` is sent to, the configured App's first (it is always listed, even without a URL,
    so its deliveries are recorded as undeliverable); Apps without a webhook get nothing."""
    configured = state.app
    found = [Hook(configured, state.webhook_url, state.config.webhook_secret, CONFIGURED_HOOK_ID)]
    for app in state.apps.values():
        if app.id != configured.id and app.hook_url and app.webhook_secret:
            found.append(Hook(app, app.hook_url, app.webhook_secret, str(app.id)))
    return [hook for hook in found if hook.app.id == configured.id or subscribes(hook.app, event)]


def subscribes(app: StandinApp, event: str) -> bool:
    """Whether ``app`` gets ``event``: one of its ``default_events``, or an installation event."""
    return event in ALWAYS_SENT or event in app.events


def as_seen_by(payload: dict[str, Any], app: StandinApp, configured: StandinApp) -> dict[str, Any]:
    """``payload`` (built for the configured App) as ``app`` receives it: with its own installation."""
    installation = payload.get("installation")
    if app.id == configured.id or not isinstance(installation, dict):
        return payload
    own = app.installation_id
    if "app_id" not in installation:  # the reference most events carry
        return {**payload, "installation": {"id": own, "node_id": node_id("IntegrationInstallation", own)}}
    old = f"/installations/{installation['id']}"
    full = {**installation, "id": own, "app_id": app.id, "app_slug": app.slug, "client_id": app.client_id,
            "permissions": dict(app.permissions), "events": list(app.events)}
    for key in ("access_tokens_url", "html_url"):
        if isinstance(full.get(key), str):
            full[key] = full[key].replace(old, f"/installations/{own}")
    return {**payload, "installation": full}
