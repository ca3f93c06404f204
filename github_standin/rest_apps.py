"""REST: App-level endpoints (JWT auth): installation tokens, installation lookup, manifests."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin.apps import StandinApp, create_app
from github_standin.errors import GitHubError, not_found
from github_standin.rest import Ctx, int_param, json_body, json_response, paginate, repo_of, rest_route

MAX_TOKEN_REPOSITORIES = 500


async def create_token(request: Request, ctx: Ctx) -> Response:
    """POST /app/installations/{installation_id}/access_tokens: a ``ghs_`` token for 1 hour.

    ``repositories``/``repository_ids``/``permissions`` are checked for shape and size but
    do not narrow the token: the App's one installation covers every repository.
    """
    body = await json_body(request)
    app = _caller(ctx)
    if int_param(request, "installation_id") != app.installation_id:
        raise not_found()
    for key in ("repositories", "repository_ids"):
        value = body.get(key, [])
        if not isinstance(value, list) or len(value) > MAX_TOKEN_REPOSITORIES:
            raise GitHubError(422, f"Invalid request.\n\nFor 'properties/{key}', at most "
                                   f"{MAX_TOKEN_REPOSITORIES} repositories are allowed.")
    async with ctx.state.lock:
        token, expires_at = ctx.state.issue_token(app)
    return json_response({"token": token, "expires_at": expires_at,
                          "permissions": dict(app.permissions), "repository_selection": "all"},
                         201)


async def repo_installation(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/installation (the App's one installation covers all)."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        return json_response(ctx.view.installation(repo.owner, _caller(ctx)))


async def installation_repositories(request: Request, ctx: Ctx) -> Response:
    """GET /installation/repositories: the repositories the installation reaches (every one but forks of
    other owners' repositories, as for ``push``), by name, paginated."""
    async with ctx.state.lock:
        repos = sorted((r for r in ctx.state.repos.values() if r.fork_of is None), key=lambda r: r.full_name)
        page, headers = paginate(request, repos)
        answer = {"total_count": len(repos), "repository_selection": "all",
                  "repositories": [ctx.view.repository(repo) for repo in page]}
        return json_response(answer, headers=headers)


async def get_app(request: Request, ctx: Ctx) -> Response:
    """GET /app: the authenticated App."""
    async with ctx.state.lock:
        return json_response(ctx.view.integration(_caller(ctx)))


async def manifest_conversion(request: Request, ctx: Ctx) -> Response:
    """POST /app-manifests/{code}/conversions: create the App a confirmed manifest describes.

    The code (from GitHub's redirect after "Create GitHub App", or ``POST /_sandbox/app-manifests``)
    works once, within an hour; after that, and for any other code, 404 as on GitHub. The answer is the
    new App with its ``pem``, ``webhook_secret`` and ``client_secret``, shown this once.
    """
    async with ctx.state.lock:
        issued = ctx.state.manifest_codes.pop(request.path_params["code"], None)
        if issued is None or issued.expires < time.time():
            raise not_found()
        created = create_app(ctx.state.apps, issued.manifest, issued.owner)
        app = ctx.view.integration(created.app)
    app.update(client_secret=created.client_secret, webhook_secret=created.app.webhook_secret,
               pem=created.pem)
    return json_response(app, 201)


def _caller(ctx: Ctx) -> StandinApp:
    assert ctx.caller is not None  # the route authenticates as an App
    return ctx.caller


ROUTES: list[Route] = [
    rest_route("/app/installations/{installation_id:int}/access_tokens", "POST",
               "apps/create-installation-access-token", create_token, auth="app"),
    rest_route("/repos/{owner}/{repo}/installation", "GET", "apps/get-repo-installation",
               repo_installation, auth="app"),
    rest_route("/app", "GET", "apps/get-authenticated", get_app, auth="app"),
    rest_route("/installation/repositories", "GET", "apps/list-repos-accessible-to-installation",
               installation_repositories),
    rest_route("/app-manifests/{code}/conversions", "POST", "apps/create-from-manifest",
               manifest_conversion, auth="none"),
]
