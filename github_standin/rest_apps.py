"""REST: App-level endpoints (JWT auth): installation tokens, installation lookup, manifests."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin.config import public_key_from_private
from github_standin.errors import GitHubError, not_found
from github_standin.rest import Ctx, int_param, json_body, json_response, repo_of, rest_route
from github_standin.shapes import APP_PERMISSIONS

MAX_TOKEN_REPOSITORIES = 500


async def create_token(request: Request, ctx: Ctx) -> Response:
    """POST /app/installations/{installation_id}/access_tokens: a ``ghs_`` token for 1 hour.

    ``repositories``/``repository_ids``/``permissions`` are checked for shape and size but
    do not narrow the token: the one installation covers every repository.
    """
    body = await json_body(request)
    if int_param(request, "installation_id") != ctx.state.config.installation_id:
        raise not_found()
    for key in ("repositories", "repository_ids"):
        value = body.get(key, [])
        if not isinstance(value, list) or len(value) > MAX_TOKEN_REPOSITORIES:
            raise GitHubError(422, f"Invalid request.\n\nFor 'properties/{key}', at most "
                                   f"{MAX_TOKEN_REPOSITORIES} repositories are allowed.")
    async with ctx.state.lock:
        token, expires_at = ctx.state.issue_token()
    return json_response({"token": token, "expires_at": expires_at,
                          "permissions": dict(APP_PERMISSIONS), "repository_selection": "all"},
                         201)


async def repo_installation(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/installation (the one installation covers all)."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        return json_response(ctx.view.installation(repo.owner))


async def get_app(request: Request, ctx: Ctx) -> Response:
    """GET /app: the authenticated App."""
    async with ctx.state.lock:
        return json_response(ctx.view.integration())


async def manifest_conversion(request: Request, ctx: Ctx) -> Response:
    """POST /app-manifests/{code}/conversions for a code issued by ``POST /_sandbox/app-manifests``.

    The "created" App is the configured one (same id, slug and webhook secret). Its ``pem`` is
    the configured private key when the sandbox has it; otherwise a fresh key that the sandbox
    accepts from then on (an App may hold several keys). A manifest ``hook_attributes.url``
    becomes the webhook URL. Codes are single-use.
    """
    async with ctx.state.lock:
        manifest = ctx.state.manifest_codes.pop(request.path_params["code"], None)
        if manifest is None:
            raise not_found()
        pem = ctx.state.config.app_private_key_pem
        if pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()).decode()
            ctx.state.app_public_keys.append(public_key_from_private(pem))
        hook_url = (manifest.get("hook_attributes") or {}).get("url")
        if isinstance(hook_url, str) and hook_url:
            ctx.state.webhook_url = hook_url
        app = ctx.view.integration()
        if isinstance(manifest.get("name"), str):
            app["name"] = manifest["name"]
        app.update(client_secret=secrets.token_hex(20),
                   webhook_secret=ctx.state.config.webhook_secret, pem=pem)
    return json_response(app, 201)


ROUTES: list[Route] = [
    rest_route("/app/installations/{installation_id:int}/access_tokens", "POST",
               "apps/create-installation-access-token", create_token, auth="app"),
    rest_route("/repos/{owner}/{repo}/installation", "GET", "apps/get-repo-installation",
               repo_installation, auth="app"),
    rest_route("/app", "GET", "apps/get-authenticated", get_app, auth="app"),
    rest_route("/app-manifests/{code}/conversions", "POST", "apps/create-from-manifest",
               manifest_conversion, auth="none"),
]
