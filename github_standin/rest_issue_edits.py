"""REST: issues written by the App (create, edit: ``issues.opened``/``issues.edited`` webhooks follow, the
edit's with ``changes.body.from``), issues and open pull requests listed, and a branch's head commit."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin import actions
from github_standin.errors import GitHubError, validation_failed
from github_standin.models import Issue
from github_standin.rest import Ctx, int_param, json_body, json_response, paginate, repo_of, rest_route
from github_standin.rest_compare import commit_object
from github_standin.state import now_iso
from github_standin.webhooks import deliver_later, issues_event


def edit_body(ctx: Ctx, issue: Issue, body: str, sender: str) -> Any:
    """Replace an issue's body as ``sender``; the ``issues.edited`` event (with the body before)."""
    before = issue.body
    issue.body, issue.updated_at = body, now_iso()
    return issues_event(ctx.view, "edited", issue, sender, changes={"body": {"from": before or ""}})


async def list_issues(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/issues: ``state`` (open, closed, all), ``creator``, ``direction``; pull
    requests are listed too, as on GitHub (paginated)."""
    query = request.query_params
    state, creator = query.get("state", "open"), query.get("creator")
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        found = [i for (key, _), i in sorted(ctx.state.issues.items()) if key == repo.key
                 and (state == "all" or i.state == state) and (creator is None or i.user == creator)]
        found.sort(key=lambda i: i.number, reverse=query.get("direction", "desc") != "asc")
        page, headers = paginate(request, found)
        return json_response([ctx.view.issue(i) for i in page], headers=headers)


async def create_issue(request: Request, ctx: Ctx) -> Response:
    """POST /repos/{owner}/{repo}/issues (by the App's bot); ``issues.opened`` follows."""
    body = await json_body(request)
    title = body.get("title")
    if not isinstance(title, str) or not title:
        raise validation_failed("Issue", "title", "missing_field")
    async with ctx.state.lock:
        issue = actions.create_issue(ctx.state, repo_of(request, ctx), title, body.get("body"), ctx.bot)
        data = ctx.view.issue(issue)
        event = issues_event(ctx.view, "opened", issue, ctx.bot)
    deliver_later(ctx.state, [event])
    return json_response(data, 201, {"Location": data["url"]})


async def get_issue(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/issues/{issue_number}."""
    async with ctx.state.lock:
        issue = actions.get_issue(ctx.state, repo_of(request, ctx), int_param(request, "number"))
        return json_response(ctx.view.issue(issue))


async def update_issue(request: Request, ctx: Ctx) -> Response:
    """PATCH /repos/{owner}/{repo}/issues/{issue_number} (``body``, ``title``, ``state``) by the App's bot;
    ``issues.edited`` follows when the body changed, ``issues.closed``/``reopened`` when the state did."""
    body = await json_body(request)
    wanted = body.get("state")
    if wanted is not None and wanted not in ("open", "closed"):
        raise validation_failed("Issue", "state", "invalid")
    async with ctx.state.lock:
        issue = actions.get_issue(ctx.state, repo_of(request, ctx), int_param(request, "number"))
        events = []
        if isinstance(body.get("title"), str) and body["title"]:
            issue.title = body["title"]
        if isinstance(body.get("body"), str) and body["body"] != issue.body:
            events.append(edit_body(ctx, issue, body["body"], ctx.bot))
        if wanted is not None and wanted != issue.state:
            issue.state, issue.updated_at = wanted, now_iso()
            issue.closed_at = issue.updated_at if wanted == "closed" else None
            action = "closed" if wanted == "closed" else "reopened"
            events.append(issues_event(ctx.view, action, issue, ctx.bot))
        data = ctx.view.issue(issue)
    deliver_later(ctx.state, events)
    return json_response(data)


async def list_pulls(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/pulls: ``state`` (open, closed, all), newest first (paginated)."""
    state = request.query_params.get("state", "open")
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        pulls = [i for (key, _), i in sorted(ctx.state.issues.items(), reverse=True) if key == repo.key
                 and i.pull is not None and (state == "all" or i.state == state)]
        page, headers = paginate(request, pulls)
        return json_response([ctx.view.pull_request(i) for i in page], headers=headers)


async def get_branch(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/branches/{branch}: its head commit (404: no such branch)."""
    name = request.path_params["branch"]
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = repo.branches.get(name)
        if sha is None:
            raise GitHubError(404, "Branch not found")
        api = f"{ctx.view.repo_api(repo)}/branches/{name}"
        links = {"self": api, "html": f"{ctx.view.base}/{repo.full_name}/tree/{name}"}
        return json_response({"name": name, "commit": commit_object(ctx.view, repo, sha), "protected": False,
                              "_links": links, "protection_url": f"{api}/protection"})


REPO = "/repos/{owner}/{repo}"
ROUTES: list[Route] = [
    rest_route(REPO + "/issues", "GET", "issues/list-for-repo", list_issues),
    rest_route(REPO + "/issues", "POST", "issues/create", create_issue),
    rest_route(REPO + "/issues/{number:int}", "GET", "issues/get", get_issue),
    rest_route(REPO + "/issues/{number:int}", "PATCH", "issues/update", update_issue),
    rest_route(REPO + "/pulls", "GET", "pulls/list", list_pulls),
    rest_route(REPO + "/branches/{branch:path}", "GET", "repos/get-branch", get_branch),
]
