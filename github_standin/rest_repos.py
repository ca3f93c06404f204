"""REST: collaborator permission, contents, tarball (via a codeload-like URL), raw files and
the pull requests associated with a commit."""

from __future__ import annotations

import secrets
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from github_standin import git, shapes_ci
from github_standin.errors import GitHubError, not_found
from github_standin.models import Issue
from github_standin.rest import Ctx, json_response, paginate, repo_of, rest_route, state_of
from github_standin.state import ROLE_TO_PERMISSION, SandboxState

RAW_TYPES = ("application/vnd.github.raw", "application/vnd.github.v3.raw")
CODELOAD_TTL = 300  # GitHub's archive links expire after 5 minutes
# keys of a full pull request that GitHub's pull-request-simple (as listed by commit) lacks
_NOT_IN_SIMPLE_PULL = frozenset({
    "merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments",
    "review_comments", "maintainer_can_modify", "commits", "additions", "deletions",
    "changed_files"})


async def collaborator_permission(request: Request, ctx: Ctx) -> Response:
    """GET .../collaborators/{username}/permission; 404 for a user the sandbox never saw."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        user = ctx.state.known_user(request.path_params["username"])
        if user is None:
            raise not_found()
        role = ctx.state.role(repo, user.login) or "none"
        permission = ROLE_TO_PERMISSION.get(role, "none")
        flags = {"pull": permission != "none", "triage": role in ("triage", "write", "maintain",
                                                                  "admin"),
                 "push": permission in ("write", "admin"),
                 "maintain": role in ("maintain", "admin"), "admin": role == "admin"}
        collaborator = {**ctx.view.user(user.login), "permissions": flags, "role_name": role}
        return json_response({"permission": permission, "role_name": role,
                              "user": collaborator})


def _wants_raw(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(kind in accept for kind in RAW_TYPES)


async def get_content(request: Request, ctx: Ctx) -> Response:
    """GET .../contents/{path}?ref=: a file (base64 JSON, or raw bytes) or a directory list."""
    path = request.path_params.get("path", "").strip("/")
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        ref = request.query_params.get("ref") or repo.default_branch
        sha = ctx.state.resolve_ref(repo, ref)
        if sha is None:
            raise GitHubError(404, f"No commit found for the ref {ref}")
        tree = ctx.state.commits[sha].tree
        where = (repo, ref, sha)
        if path in tree:
            if _wants_raw(request):
                return Response(tree[path], media_type="application/vnd.github.raw")
            return json_response(shapes_ci.content_file(ctx.view, where, path, tree[path]))
        if path and not any(p.startswith(path + "/") for p in tree):
            raise not_found()
        return json_response(shapes_ci.content_directory(ctx.view, where, path, tree))


async def download_tarball(request: Request, ctx: Ctx) -> Response:
    """GET .../tarball/{ref}: 302 to a short-lived codeload URL served by the sandbox."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        ref = request.path_params.get("ref") or repo.default_branch
        sha = ctx.state.resolve_ref(repo, ref)
        if sha is None:
            raise not_found()
        token = secrets.token_urlsafe(16)
        ctx.state.codeload[token] = (repo.key, sha, time.time() + CODELOAD_TTL)
    location = f"{ctx.view.base}/_codeload/{repo.full_name}/legacy.tar.gz/{sha}?token={token}"
    return RedirectResponse(location, status_code=302)


async def codeload(request: Request) -> Response:
    """The archive behind a tarball redirect: ``{owner}-{repo}-{shortsha}/`` inside."""
    state = state_of(request)
    async with state.lock:
        grant = state.codeload.get(request.query_params.get("token", ""))
        sha = request.path_params["sha"]
        if grant is None or grant[1] != sha or grant[2] < time.time():
            return not_found().response()
        repo = state.repos[grant[0]]
        commit = state.commits[sha]
        prefix = f"{repo.owner}-{repo.name}-{sha[:7]}"
        data = git.build_tarball(prefix, commit.tree, sha, commit.timestamp)
    return Response(data, media_type="application/x-gzip", headers={
        "Content-Disposition": f"attachment; filename={prefix}.tar.gz"})


async def raw_file(request: Request) -> Response:
    """``download_url`` of the contents API (public, like raw.githubusercontent.com)."""
    state = state_of(request)
    async with state.lock:
        try:
            repo = state.repo(request.path_params["owner"], request.path_params["repo"])
        except GitHubError:
            return Response(b"404: Not Found", status_code=404)
        sha = state.resolve_ref(repo, request.path_params["sha"])
        tree = state.commits[sha].tree if sha else {}
        data = tree.get(request.path_params["path"])
    if data is None:
        return Response(b"404: Not Found", status_code=404)
    return Response(data, media_type="text/plain; charset=utf-8")


def _introduced(state: SandboxState, issue: Issue, sha: str) -> bool:
    """True if pull request ``issue`` brought ``sha``: its head, its merge commit, or one of
    its own commits (in the head's history but not in the base's)."""
    pull = issue.pull
    if pull is None:
        return False
    if sha in (pull.head_sha, pull.merge_commit_sha):
        return True
    return sha in state.ancestors(pull.head_sha) and sha not in state.ancestors(pull.base_sha)


async def commit_pulls(request: Request, ctx: Ctx) -> Response:
    """GET .../commits/{commit_sha}/pulls: open and closed pull requests of this repository
    that introduced the commit (a sha or a branch name); 422 for an unknown commit."""
    ref = request.path_params["commit_sha"]
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = ctx.state.resolve_ref(repo, ref)
        if sha is None:
            raise GitHubError(422, f"No commit found for SHA: {ref}")
        pulls = [issue for (key, _), issue in sorted(ctx.state.issues.items())
                 if key == repo.key and _introduced(ctx.state, issue, sha)]
        page, headers = paginate(request, pulls)
        body = [{k: v for k, v in ctx.view.pull_request(issue).items()
                 if k not in _NOT_IN_SIMPLE_PULL} for issue in page]
        return json_response(body, headers=headers)


REPO = "/repos/{owner}/{repo}"
ROUTES: list[Route] = [
    rest_route(REPO + "/collaborators/{username}/permission", "GET",
               "repos/get-collaborator-permission-level", collaborator_permission),
    rest_route(REPO + "/contents/{path:path}", "GET", "repos/get-content", get_content),
    rest_route(REPO + "/contents", "GET", "repos/get-content", get_content),
    rest_route(REPO + "/commits/{commit_sha:path}/pulls", "GET",
               "repos/list-pull-requests-associated-with-commit", commit_pulls),
    rest_route(REPO + "/tarball/{ref:path}", "GET", "repos/download-tarball-archive",
               download_tarball),
    rest_route(REPO + "/tarball", "GET", "repos/download-tarball-archive", download_tarball),
    Route("/_codeload/{owner}/{repo}/legacy.tar.gz/{sha}", codeload, methods=["GET"]),
    Route("/_raw/{owner}/{repo}/{sha}/{path:path}", raw_file, methods=["GET"]),
]
