"""REST: a repository itself (its ``default_branch``) and the comparison of two commits
(``base...head``), which tells whether a commit is on a branch (status ``identical`` or ``behind``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin import git
from github_standin.errors import GitHubError, not_found
from github_standin.models import Repo
from github_standin.rest import Ctx, json_response, paginate, repo_of, rest_route
from github_standin.shapes import View, node_id


async def get_repository(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}: the full repository (the repository object plus its counts)."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        data = ctx.view.repository(repo)
        forks = data["forks_count"]
        return json_response({**data, "has_discussions": False, "network_count": forks,
                              "subscribers_count": 0})


def _status(ahead_by: int, behind_by: int) -> str:
    """GitHub's word for where ``head`` stands against ``base``."""
    if ahead_by and behind_by:
        return "diverged"
    if ahead_by:
        return "ahead"
    return "behind" if behind_by else "identical"


async def compare(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/compare/{base}...{head}: 404 for an unknown ref or unrelated
    histories; ``commits`` lists head's commits that base lacks, oldest first (paginated)."""
    base_ref, sep, head_ref = request.path_params["basehead"].partition("...")
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        base, head = ctx.state.resolve_ref(repo, base_ref), ctx.state.resolve_ref(repo, head_ref)
        if not sep or base is None or head is None:
            raise not_found()
        base_line, head_line = ctx.state.ancestors(base), ctx.state.ancestors(head)
        shared = set(base_line)
        merge_base = next((sha for sha in head_line if sha in shared), None)
        if merge_base is None:
            raise GitHubError(404, f"No common ancestor between {base_ref} and {head_ref}.")
        ahead = list(reversed(head_line[:head_line.index(merge_base)]))
        behind_by = base_line.index(merge_base)
        page, headers = paginate(request, ahead)
        web = f"{ctx.view.base}/{repo.full_name}"
        basehead = request.path_params["basehead"]
        return json_response({
            "url": f"{ctx.view.repo_api(repo)}/compare/{basehead}",
            "html_url": f"{web}/compare/{basehead}", "permalink_url": f"{web}/compare/{base}...{head}",
            "diff_url": f"{web}/compare/{basehead}.diff", "patch_url": f"{web}/compare/{basehead}.patch",
            "base_commit": commit_object(ctx.view, repo, base),
            "merge_base_commit": commit_object(ctx.view, repo, merge_base),
            "status": _status(len(ahead), behind_by), "ahead_by": len(ahead), "behind_by": behind_by,
            "total_commits": len(ahead), "commits": [commit_object(ctx.view, repo, sha) for sha in page],
            "files": [],
        }, headers=headers)


def commit_object(view: View, repo: Repo, sha: str) -> dict[str, Any]:
    """A commit object as the commits and compare endpoints list it."""
    commit = view.state.commits[sha]
    api, web = f"{view.repo_api(repo)}/commits/{sha}", f"{view.base}/{repo.full_name}/commit/{sha}"
    author = view.state.user(commit.author)
    person = {"name": author.login, "email": f"{author.id}+{author.login}@users.noreply",
              "date": commit.timestamp}
    tree = git.tree_sha(commit.tree)
    parents = [commit.parent] if commit.parent else []
    return {
        "sha": sha, "node_id": node_id("Commit", int(sha[:7], 16)), "url": api, "html_url": web,
        "comments_url": f"{api}/comments",
        "commit": {"url": f"{view.repo_api(repo)}/git/commits/{sha}", "author": person, "committer": person,
                   "message": commit.message, "comment_count": 0,
                   "tree": {"sha": tree, "url": f"{view.repo_api(repo)}/git/trees/{tree}"},
                   "verification": {"verified": False, "reason": "unsigned", "signature": None,
                                    "payload": None, "verified_at": None}},
        "author": view.user(author.login), "committer": view.user(author.login),
        "parents": [{"sha": p, "url": f"{view.repo_api(repo)}/commits/{p}",
                     "html_url": f"{view.base}/{repo.full_name}/commit/{p}"} for p in parents],
    }


REPO = "/repos/{owner}/{repo}"
ROUTES: list[Route] = [
    rest_route(REPO, "GET", "repos/get", get_repository),
    rest_route(REPO + "/compare/{basehead:path}", "GET", "repos/compare-commits", compare),
]
