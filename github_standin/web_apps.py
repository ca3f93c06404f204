"""GitHub's web side of the App manifest flow, as the stand-in plays it.

A page POSTs a form field ``manifest`` (JSON) to ``/settings/apps/new?state=S`` (an App of the signed-in
user, here ``config.app_owner``) or ``/organizations/ORG/settings/apps/new?state=S``; GitHub shows a
confirmation page, and its button "Create GitHub App for OWNER" redirects the browser to the manifest's
``redirect_url`` with ``?code=C&state=S``. The code is then converted over REST
(``POST /app-manifests/{code}/conversions``, in ``rest_apps``).
"""

from __future__ import annotations

import html
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from github_standin.apps import CODE_TTL, ManifestCode, manifest_problems, slug_of
from github_standin.errors import GitHubError
from github_standin.rest import state_of
from github_standin.state import SandboxState

CONFIRM_PATH = "/settings/apps/new/confirm"


def issue_code(state: SandboxState, manifest: dict[str, Any], owner: str) -> str:
    """A one-time code for ``manifest`` confirmed by ``owner`` (422 when the App's name is taken)."""
    if any(app.slug == slug_of(manifest["name"]) for app in state.apps.values()):
        raise GitHubError(422, f"Name {manifest['name']!r} is already in use")
    code = secrets.token_hex(10)
    state.manifest_codes[code] = ManifestCode(manifest, owner, time.time() + CODE_TTL)
    return code


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value of each field)."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                        f"</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
                        status_code=status)


def _refused(problems: list[str]) -> HTMLResponse:
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    return _page("Invalid GitHub App configuration", f"<ul class='errors'>{items}</ul>", 422)


def _manifest(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        manifest = json.loads(text)
    except ValueError:
        return None, ["the manifest is not valid JSON"]
    problems = manifest_problems(manifest)
    if not problems and "redirect_url" not in manifest:
        problems = ["redirect_url is required for the manifest flow"]
    return (manifest if not problems else None), problems


async def new_app(request: Request) -> Response:
    """``POST [/organizations/ORG]/settings/apps/new?state=S`` with ``manifest``: the confirmation page."""
    state = state_of(request)
    owner = request.path_params.get("org") or state.config.app_owner
    form = await _form(request)
    manifest, problems = _manifest(form.get("manifest", ""))
    if manifest is None:
        return _refused(problems)
    permissions = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>"
                          for k, v in sorted(manifest.get("default_permissions", {}).items()))
    hidden = "".join(f"<input type='hidden' name='{name}' value='{html.escape(value, quote=True)}'>"
                     for name, value in (("manifest", form["manifest"]), ("owner", owner),
                                         ("state", request.query_params.get("state", ""))))
    body = (f"<p>App name: <strong class='app-name'>{html.escape(manifest['name'])}</strong></p>"
            f"<p>Homepage: {html.escape(manifest['url'])}</p>"
            f"<p>Webhook: {html.escape((manifest.get('hook_attributes') or {}).get('url', 'none'))}</p>"
            f"<ul class='permissions'>{permissions}</ul>"
            f"<form method='post' action='{CONFIRM_PATH}'>{hidden}"
            f"<button type='submit'>Create GitHub App for {html.escape(owner)}</button></form>")
    return _page(f"Create GitHub App for {owner}", body)


async def confirm(request: Request) -> Response:
    """The confirmation's button: issue the code and redirect to ``redirect_url?code=C&state=S``."""
    state = state_of(request)
    form = await _form(request)
    manifest, problems = _manifest(form.get("manifest", ""))
    if manifest is None:
        return _refused(problems)
    try:
        async with state.lock:
            code = issue_code(state, manifest, form.get("owner") or state.config.app_owner)
    except GitHubError as error:
        return _refused([str(error)])
    query = {"code": code, **({"state": form["state"]} if form.get("state") else {})}
    separator = "&" if "?" in manifest["redirect_url"] else "?"
    return RedirectResponse(f"{manifest['redirect_url']}{separator}{urlencode(query)}", status_code=302)


ROUTES: list[Route] = [
    Route("/settings/apps/new", new_app, methods=["POST"]),
    Route("/organizations/{org}/settings/apps/new", new_app, methods=["POST"]),
    Route(CONFIRM_PATH, confirm, methods=["POST"]),
]
