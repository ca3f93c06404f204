"""Pure pieces of ``modelgate setup``: where GitHub's web and API sides are, the manifest sent to GitHub
(app.yml with this installation's URLs), and the page whose form posts it."""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import yaml

GITHUB_WEB = "https://github.com"
GITHUB_API = "https://api.github.com"
WEBHOOK_PATH = "/api/github/webhooks"


def github_urls(web_url: str | None, api_url: str | None, configured_api: str) -> tuple[str, str]:
    """(web, API) base URLs: github.com's pair, or GitHub Enterprise Server's ``https://HOST`` and
    ``https://HOST/api/v3``; each derived from the other when only one is given, else from
    ``configured_api`` (``MODELGATE_GITHUB_API_URL``)."""
    if web_url is None and api_url is None:
        api_url = configured_api
    if web_url is None:
        assert api_url is not None
        api = api_url.rstrip("/")
        web = GITHUB_WEB if api == GITHUB_API else api.removesuffix("/api/v3")
        return web, api
    web = web_url.rstrip("/")
    if api_url is None:
        return web, GITHUB_API if web == GITHUB_WEB else f"{web}/api/v3"
    return web, api_url.rstrip("/")


def default_manifest() -> dict[str, Any]:
    """app.yml as shipped with modelgate."""
    text = resources.files("bot.install").joinpath("app.yml").read_text(encoding="utf-8")
    manifest: dict[str, Any] = yaml.safe_load(text)
    return manifest


def build_manifest(template: dict[str, Any], *, public_url: str, redirect_url: str,
                   name: str | None = None) -> dict[str, Any]:
    """``template`` with this installation's homepage, webhook URL and redirect (and ``name`` if given)."""
    manifest = dict(template)
    manifest.update(url=public_url, redirect_url=redirect_url,
                    hook_attributes={**(template.get("hook_attributes") or {}),
                                     "url": public_url.rstrip("/") + WEBHOOK_PATH, "active": True})
    if name:
        manifest["name"] = name
    return manifest


def form_action(web_url: str, state: str, org: str | None = None) -> str:
    """Where the manifest is posted: the user's (or ``org``'s) "new GitHub App" page, with ``state``."""
    owner = f"/organizations/{org}" if org else ""
    return f"{web_url}{owner}/settings/apps/new?{urlencode({'state': state})}"


def page(title: str, body: str) -> str:
    """A minimal HTML page."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")


def start_page(manifest: dict[str, Any], action: str) -> str:
    """The local page: what will be created, and the button that posts the manifest to GitHub."""
    permissions = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>"
                          for k, v in sorted((manifest.get("default_permissions") or {}).items()))
    value = html.escape(json.dumps(manifest), quote=True)
    body = (f"<p>This creates the GitHub App <strong>{html.escape(str(manifest['name']))}</strong>, whose "
            f"webhooks go to <code>{html.escape(manifest['hook_attributes']['url'])}</code>, with these "
            f"permissions:</p><ul>{permissions}</ul>"
            f"<form method='post' action='{html.escape(action, quote=True)}'>"
            f"<input type='hidden' name='manifest' value=\"{value}\">"
            f"<button type='submit'>Create the GitHub App on GitHub</button></form>")
    return page("modelgate setup", body)
