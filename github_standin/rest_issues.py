"""REST: pull requests (get, merge), issue comments and comment reactions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin import actions
from github_standin.errors import invalid, validation_failed
from github_standin.models import Comment, Reaction
from github_standin.rest import (
    Ctx,
    int_param,
    json_body,
    json_response,
    owned_item,
    paginate,
    repo_of,
    rest_route,
)
from github_standin.shapes import REACTIONS
from github_standin.state import now_iso
from github_standin.webhooks import deliver_later, merge_events

MERGE_METHODS = ("merge", "squash", "rebase")


async def get_pull(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/pulls/{pull_number}."""
    async with ctx.state.lock:
        issue = actions.get_issue(ctx.state, repo_of(request, ctx), int_param(request, "number"),
                                  pull=True)
        return json_response(ctx.view.pull_request(issue))


async def merge_pull(request: Request, ctx: Ctx) -> Response:
    """PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge (webhooks follow in the background)."""
    body = await json_body(request)
    method = body.get("merge_method", "merge")
    if method not in MERGE_METHODS:
        raise invalid(f"For 'properties/merge_method', {method!r} is not a possible value.")
    async with ctx.state.lock:
        issue = actions.get_issue(ctx.state, repo_of(request, ctx), int_param(request, "number"),
                                  pull=True)
        result = actions.merge(ctx.state, issue, ctx.bot, sha=body.get("sha"), method=method,
                               title=body.get("commit_title"),
                               message=body.get("commit_message"))
        events = merge_events(ctx.view, issue, result, ctx.bot)
    deliver_later(ctx.state, events)
    return json_response(actions.merge_answer(result))


async def list_comments(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/issues/{issue_number}/comments (paginated, oldest first)."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        number = int_param(request, "number")
        actions.get_issue(ctx.state, repo, number)
        comments = [c for c in ctx.state.comments.values()
                    if c.repo == repo.key and c.issue_number == number]
        page, headers = paginate(request, comments)
        return json_response([ctx.view.comment(c) for c in page], headers=headers)


async def create_comment(request: Request, ctx: Ctx) -> Response:
    """POST /repos/{owner}/{repo}/issues/{issue_number}/comments (authored by the App's bot)."""
    body = await json_body(request)
    async with ctx.state.lock:
        comment = actions.add_comment(ctx.state, repo_of(request, ctx),
                                      int_param(request, "number"), body.get("body"), ctx.bot,
                                      via_app=True)
        data = ctx.view.comment(comment)
    return json_response(data, 201, {"Location": data["url"]})


def _comment(request: Request, ctx: Ctx) -> Comment:
    return owned_item(request, ctx, ctx.state.comments, "comment_id")


async def get_comment(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    async with ctx.state.lock:
        return json_response(ctx.view.comment(_comment(request, ctx)))


async def update_comment(request: Request, ctx: Ctx) -> Response:
    """PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    body = await json_body(request)
    text = body.get("body")
    if not isinstance(text, str) or not text:
        raise validation_failed("IssueComment", "body", "missing_field")
    async with ctx.state.lock:
        comment = _comment(request, ctx)
        comment.body, comment.updated_at = text, now_iso()
        return json_response(ctx.view.comment(comment))


async def create_reaction(request: Request, ctx: Ctx) -> Response:
    """POST .../issues/comments/{comment_id}/reactions: 201 new, 200 if already there."""
    body = await json_body(request)
    content = body.get("content")
    if content not in REACTIONS:
        raise invalid(f"For 'properties/content', {content!r} is not a possible value.")
    async with ctx.state.lock:
        comment = _comment(request, ctx)
        for reaction in ctx.state.reactions:
            if (reaction.comment_id, reaction.user, reaction.content) == (comment.id, ctx.bot,
                                                                          content):
                return json_response(ctx.view.reaction(reaction), 200)
        reaction = Reaction(ctx.state.next_id("reaction"), comment.id, ctx.bot, content,
                            now_iso())
        ctx.state.reactions.append(reaction)
        return json_response(ctx.view.reaction(reaction), 201)


REPO = "/repos/{owner}/{repo}"
ROUTES: list[Route] = [
    rest_route(REPO + "/pulls/{number:int}", "GET", "pulls/get", get_pull),
    rest_route(REPO + "/pulls/{number:int}/merge", "PUT", "pulls/merge", merge_pull),
    rest_route(REPO + "/issues/{number:int}/comments", "GET", "issues/list-comments",
               list_comments),
    rest_route(REPO + "/issues/{number:int}/comments", "POST", "issues/create-comment",
               create_comment),
    rest_route(REPO + "/issues/comments/{comment_id:int}", "GET", "issues/get-comment",
               get_comment),
    rest_route(REPO + "/issues/comments/{comment_id:int}", "PATCH", "issues/update-comment",
               update_comment),
    rest_route(REPO + "/issues/comments/{comment_id:int}/reactions", "POST",
               "reactions/create-for-issue-comment", create_reaction),
]
