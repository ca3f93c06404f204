"""Plumbing for REST routes: operationIds, auth, injected faults, request log, pagination."""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from github_standin.apps import StandinApp
from github_standin.auth import AuthKind, authenticate
from github_standin.errors import GitHubError, fault_error, not_found, parse_json_body
from github_standin.models import Repo
from github_standin.shapes import View
from github_standin.state import SandboxState

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


@dataclass
class Ctx:
    """What a REST handler gets besides the request."""

    state: SandboxState
    view: View
    caller: StandinApp | None = None  # the App whose JWT or installation token the request carries

    @property
    def bot(self) -> str:
        """The login REST writes are attributed to (the calling App's bot user)."""
        if self.caller is None or self.caller.id == self.state.config.app_id:
            return self.state.config.bot_login
        return self.state.user(f"{self.caller.slug}[bot]", "Bot").login

    @property
    def app_id(self) -> int | None:
        """The id of the App the request acts as."""
        return None if self.caller is None else self.caller.id


Handler = Callable[[Request, Ctx], Awaitable[Response]]


def state_of(request: Request) -> SandboxState:
    """The sandbox state of the app serving ``request``."""
    return request.app.state.sandbox


def base_url(request: Request) -> str:
    """The base URL bodies use: the configured public URL or the request's own."""
    configured = state_of(request).config.public_url
    return (configured or str(request.base_url)).rstrip("/")


def log_request(request: Request, operation_id: str | None, status: int) -> None:
    """Append a REST call to the ``requests`` log."""
    state_of(request).requests.append({"method": request.method, "path": request.url.path,
                                       "operationId": operation_id, "status": status})


def rest_route(path: str, method: str, operation_id: str, handler: Handler,
               auth: AuthKind = "installation") -> Route:
    """A Route for ``handler``: auth → injected fault → handler; errors become GitHub JSON."""

    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        try:
            caller = authenticate(state, request, auth)
            fault = state.take_fault(operation_id)
            if fault is not None:
                raise fault_error(fault.status, fault.retry_after, uuid.uuid4().hex[:16].upper())
            response = await handler(request, Ctx(state, View(state, base_url(request)), caller))
        except GitHubError as error:
            response = error.response()
        response.headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
        response.headers.setdefault("X-GitHub-Request-Id", uuid.uuid4().hex[:20].upper())
        log_request(request, operation_id, response.status_code)
        return response

    endpoint.__name__ = operation_id.replace("/", "_").replace("-", "_")
    return Route(path, endpoint, methods=[method], name=operation_id)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body (400 "Problems parsing JSON" otherwise)."""
    return parse_json_body(await request.body())


def require_permission(ctx: Ctx, permission: str, level: str) -> None:
    """GitHub's 403 "Resource not accessible by integration" unless the caller's installation has
    ``permission`` at ``level``."""
    if ctx.caller is None or not ctx.caller.allows(permission, level):
        raise GitHubError(403, "Resource not accessible by integration",
                          extra={"status": "403"})


def repo_of(request: Request, ctx: Ctx) -> Repo:
    """The repository named by the ``owner``/``repo`` path parameters (or 404)."""
    return ctx.state.repo(request.path_params["owner"], request.path_params["repo"])


class _RepoOwned(Protocol):
    repo: str


Owned = TypeVar("Owned", bound=_RepoOwned)


def owned_item(request: Request, ctx: Ctx, items: Mapping[int, Owned], param: str) -> Owned:
    """The item whose id is path parameter ``param``, if it belongs to the path's repo (or 404)."""
    repo = repo_of(request, ctx)
    item = items.get(int_param(request, param))
    if item is None or item.repo != repo.key:
        raise not_found()
    return item


def int_param(request: Request, name: str) -> int:
    """A path parameter declared ``:int``."""
    return int(request.path_params[name])


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON with GitHub's content type."""
    return JSONResponse(data, status_code=status, headers=headers)


def paginate(request: Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` (``per_page`` ≤ 100, default 30) and its RFC 5988 ``Link`` header."""
    per_page = min(max(_query_int(request, "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_query_int(request, "page", 1), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    chunk = items[(page - 1) * per_page: page * per_page]

    def link(target: int, rel: str) -> str:
        query = {**request.query_params, "per_page": str(per_page), "page": str(target)}
        return f'<{base_url(request)}{request.url.path}?{urlencode(query)}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links.append(link(1, "first"))
    return chunk, ({"Link": ", ".join(links)} if links else {})


def _query_int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default


async def unknown_route(request: Request, exc: Exception) -> Response:
    """GitHub's JSON 404 for any path or method the sandbox does not serve."""
    response = not_found().response()
    if not request.url.path.startswith("/_sandbox"):
        log_request(request, None, response.status_code)
    return response
