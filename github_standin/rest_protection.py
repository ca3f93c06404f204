"""REST: branch protection (``GET``/``PUT``/``DELETE /repos/{o}/{r}/branches/{branch}/protection``).

As on GitHub, the installation needs the ``administration`` permission (read to look, write to change:
403 "Resource not accessible by integration" otherwise), and ``PUT`` replaces every rule. What the
stand-in enforces on merges: the required status checks (from the App ``app_id`` names, when it names
one) and ``strict`` (the head must contain the base branch's tip). Reviews and restrictions are kept and
shown, not enforced (the stand-in has no reviews nor user pushes).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin.errors import GitHubError, invalid, not_found
from github_standin.models import Protection, Repo
from github_standin.rest import Ctx, json_body, json_response, repo_of, require_permission, rest_route

REQUIRED_KEYS = ("required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions")
FLAGS = ("required_linear_history", "allow_force_pushes", "allow_deletions", "block_creations",
         "required_conversation_resolution", "lock_branch", "allow_fork_syncing")
REVIEW_FLAGS = ("dismiss_stale_reviews", "require_code_owner_reviews", "require_last_push_approval")


def _branch(request: Request, ctx: Ctx) -> tuple[Repo, str]:
    repo = repo_of(request, ctx)
    branch = request.path_params["branch"]
    if branch not in repo.branches:
        raise GitHubError(404, "Branch not found")
    return repo, branch


def _checks(value: Any) -> tuple[list[tuple[str, int | None]], bool, bool]:
    """(checks, strict, status_checks) from ``required_status_checks``; 422 for a wrong shape."""
    if value is None:
        return [], False, False
    if not isinstance(value, dict) or not isinstance(value.get("strict"), bool):
        raise invalid('"strict" wasn\'t supplied.')
    contexts, checks = value.get("contexts"), value.get("checks")
    if checks is not None:  # GitHub prefers checks over the deprecated contexts
        if not isinstance(checks, list) or not all(isinstance(c, dict) and isinstance(c.get("context"), str)
                                                   for c in checks):
            raise invalid("For 'items', checks need a string \"context\".")
        found = [(c["context"], _app_id(c.get("app_id"))) for c in checks]
    elif isinstance(contexts, list) and all(isinstance(c, str) for c in contexts):
        found = [(c, None) for c in contexts]
    else:
        raise invalid('"contexts" wasn\'t supplied.')
    return list(dict.fromkeys(found)), value["strict"], True


def _app_id(value: Any) -> int | None:
    if value is None or value == -1:  # -1: any source
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid("For 'properties/app_id', it is not an integer.")
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body[key]
    if value is not None and not isinstance(value, dict):
        raise invalid(f"For 'properties/{key}', {value!r} is not an object or null.")
    return value


def parse_protection(body: dict[str, Any]) -> Protection:
    """The rules a ``PUT`` body sets (422 for a missing required key or a wrong type)."""
    for key in REQUIRED_KEYS:
        if key not in body:
            raise invalid(f'"{key}" wasn\'t supplied.')
    checks, strict, status_checks = _checks(body["required_status_checks"])
    admins = body["enforce_admins"]
    if admins is not None and not isinstance(admins, bool):
        raise invalid("For 'properties/enforce_admins', it is not a boolean or null.")
    flags = {}
    for key in FLAGS:
        value = body.get(key)
        if value is not None and not isinstance(value, bool):
            raise invalid(f"For 'properties/{key}', {value!r} is not a boolean or null.")
        flags[key] = bool(value)
    reviews, restrictions = _object(body, "required_pull_request_reviews"), _object(body, "restrictions")
    return Protection(checks, strict, status_checks, bool(admins), reviews, restrictions, flags)


def render(ctx: Ctx, repo: Repo, branch: str, rules: Protection) -> dict[str, Any]:
    """A protected branch's rules as GitHub answers them."""
    url = f"{ctx.view.repo_api(repo)}/branches/{branch}/protection"
    data: dict[str, Any] = {"url": url}
    if rules.status_checks:
        data["required_status_checks"] = {
            "url": f"{url}/required_status_checks", "strict": rules.strict, "contexts": rules.contexts,
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": c, "app_id": a} for c, a in rules.checks]}
    if rules.reviews is not None:
        reviews = rules.reviews
        data["required_pull_request_reviews"] = {
            "url": f"{url}/required_pull_request_reviews",
            **{key: bool(reviews.get(key)) for key in REVIEW_FLAGS},
            "required_approving_review_count": int(reviews.get("required_approving_review_count") or 0)}
        for key in ("dismissal_restrictions", "bypass_pull_request_allowances"):
            if isinstance(reviews.get(key), dict):
                data["required_pull_request_reviews"][key] = _people(ctx, reviews[key], f"{url}/{key}")
    data["required_signatures"] = {"url": f"{url}/required_signatures", "enabled": False}
    data["enforce_admins"] = {"url": f"{url}/enforce_admins", "enabled": rules.enforce_admins}
    data.update({key: {"enabled": rules.flags.get(key, False)} for key in FLAGS})
    if rules.restrictions is not None:
        data["restrictions"] = {**_people(ctx, rules.restrictions, f"{url}/restrictions"),
                                "apps_url": f"{url}/restrictions/apps"}
    return data


def _people(ctx: Ctx, given: dict[str, Any], url: str) -> dict[str, Any]:
    """``{"users": [logins], ...}`` of a PUT as GitHub shows it: user objects (no teams nor Apps here)."""
    users = [login for login in given.get("users") or [] if isinstance(login, str)]
    return {"url": url, "users_url": f"{url}/users", "teams_url": f"{url}/teams",
            "users": [ctx.view.user(login) for login in users], "teams": [], "apps": []}


async def get_protection(request: Request, ctx: Ctx) -> Response:
    """GET .../branches/{branch}/protection (404 "Branch not protected" for an unprotected branch)."""
    require_permission(ctx, "administration", "read")
    async with ctx.state.lock:
        repo, branch = _branch(request, ctx)
        rules = repo.protection.get(branch)
        if rules is None:
            raise GitHubError(404, "Branch not protected")
        return json_response(render(ctx, repo, branch, rules))


async def put_protection(request: Request, ctx: Ctx) -> Response:
    """PUT .../branches/{branch}/protection: replace every rule."""
    require_permission(ctx, "administration", "write")
    rules = parse_protection(await json_body(request))
    async with ctx.state.lock:
        repo, branch = _branch(request, ctx)
        repo.protection[branch] = rules
        return json_response(render(ctx, repo, branch, rules))


async def delete_protection(request: Request, ctx: Ctx) -> Response:
    """DELETE .../branches/{branch}/protection: 204, or 404 when it was not protected."""
    require_permission(ctx, "administration", "write")
    async with ctx.state.lock:
        repo, branch = _branch(request, ctx)
        if repo.protection.pop(branch, None) is None:
            raise not_found()
    return Response(status_code=204)


PATH = "/repos/{owner}/{repo}/branches/{branch:path}/protection"
ROUTES: list[Route] = [
    rest_route(PATH, "GET", "repos/get-branch-protection", get_protection),
    rest_route(PATH, "PUT", "repos/update-branch-protection", put_protection),
    rest_route(PATH, "DELETE", "repos/delete-branch-protection", delete_protection),
]
