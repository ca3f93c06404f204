"""REST: deployments and deployment statuses."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin import shapes_ci
from github_standin.actions import context_state
from github_standin.errors import GitHubError, validation_failed
from github_standin.models import Deployment, DeploymentStatus
from github_standin.rest import Ctx, json_body, json_response, owned_item, paginate, repo_of, rest_route
from github_standin.shapes_ci import latest_statuses
from github_standin.state import now_iso

DEPLOYMENT_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending",
                     "success")


async def create_deployment(request: Request, ctx: Ctx) -> Response:
    """POST /repos/{owner}/{repo}/deployments (409 when required contexts are not green).

    ``required_contexts`` omitted means every context on the commit must be ``success``;
    ``auto_merge`` is accepted and ignored (the sandbox never merges the default branch in).
    """
    body = await json_body(request)
    ref = body.get("ref")
    if not isinstance(ref, str) or not ref:
        raise validation_failed("Deployment", "ref", "missing_field")
    environment = str(body.get("environment") or "production")
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = ctx.state.resolve_ref(repo, ref)
        if sha is None:
            raise GitHubError(422, f"No ref found for: {ref}")
        required = body.get("required_contexts")
        if required is None:
            required = [s.context for s in latest_statuses(ctx.view, repo, sha)]
        failing = [c for c in required if context_state(ctx.state, repo, sha, c) != "success"]
        if failing:
            raise GitHubError(409, f"Conflict: Commit status checks failed for {ref}.", errors=[
                {"contexts": [{"context": c, "state": context_state(ctx.state, repo, sha, c)}
                              for c in failing],
                 "resource": "Deployment", "field": "required_contexts"}])
        item = Deployment(
            ctx.state.next_id("deployment"), repo.key, sha, ref, str(body.get("task") or "deploy"),
            body.get("payload", {}), environment, body.get("description"), ctx.bot, now_iso(),
            bool(body.get("transient_environment", False)),
            bool(body.get("production_environment", environment == "production")), True)
        ctx.state.deployments[item.id] = item
        return json_response(shapes_ci.deployment(ctx.view, item), 201)


async def list_deployments(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/deployments (filters sha, ref, task, environment)."""
    query = request.query_params
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        items = [d for d in reversed(ctx.state.deployments.values()) if d.repo == repo.key
                 and all(str(getattr(d, key)) == query[key]
                         for key in ("sha", "ref", "task", "environment") if key in query)]
        page, headers = paginate(request, items)
        return json_response([shapes_ci.deployment(ctx.view, d) for d in page], headers=headers)


def _deployment(request: Request, ctx: Ctx) -> Deployment:
    return owned_item(request, ctx, ctx.state.deployments, "deployment_id")


async def get_deployment(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/deployments/{deployment_id}."""
    async with ctx.state.lock:
        return json_response(shapes_ci.deployment(ctx.view, _deployment(request, ctx)))


def _optional(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


async def create_deployment_status(request: Request, ctx: Ctx) -> Response:
    """POST .../deployments/{deployment_id}/statuses."""
    body = await json_body(request)
    state_name = body.get("state")
    if state_name not in DEPLOYMENT_STATES:
        raise validation_failed("DeploymentStatus", "state", "invalid")
    async with ctx.state.lock:
        dep = _deployment(request, ctx)
        environment = _optional(body, "environment") or dep.environment
        item = DeploymentStatus(
            ctx.state.next_id("deployment_status"), dep.id, state_name, ctx.bot,
            _optional(body, "description"), environment,
            _optional(body, "target_url") or _optional(body, "log_url"),
            _optional(body, "log_url") or _optional(body, "target_url"),
            _optional(body, "environment_url"), now_iso(), True)
        ctx.state.deployment_statuses.append(item)
        return json_response(shapes_ci.deployment_status(ctx.view, item), 201)


async def list_deployment_statuses(request: Request, ctx: Ctx) -> Response:
    """GET .../deployments/{deployment_id}/statuses (newest first)."""
    async with ctx.state.lock:
        dep = _deployment(request, ctx)
        items = [s for s in reversed(ctx.state.deployment_statuses) if s.deployment_id == dep.id]
        page, headers = paginate(request, items)
        return json_response([shapes_ci.deployment_status(ctx.view, s) for s in page],
                             headers=headers)


DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"
ONE = DEPLOYMENTS + "/{deployment_id:int}"
ROUTES: list[Route] = [
    rest_route(DEPLOYMENTS, "POST", "repos/create-deployment", create_deployment),
    rest_route(DEPLOYMENTS, "GET", "repos/list-deployments", list_deployments),
    rest_route(ONE, "GET", "repos/get-deployment", get_deployment),
    rest_route(ONE + "/statuses", "POST", "repos/create-deployment-status",
               create_deployment_status),
    rest_route(ONE + "/statuses", "GET", "repos/list-deployment-statuses",
               list_deployment_statuses),
]
