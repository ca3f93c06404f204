"""The control API under ``/_sandbox/``: play users and admins (including pressing the check
buttons "Re-run", an action of a check run, "Re-run all checks"); every action sends webhooks.

Handlers run holding the state lock and return ``(status, data, events)``; the events are
delivered in order after the lock is released and the response lists those deliveries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from github_standin import actions, git
from github_standin.apps import manifest_problems
from github_standin.errors import FAULT_STATUSES, GitHubError, not_found, parse_json_body
from github_standin.models import Protection, Repo
from github_standin.rest import Ctx, base_url, int_param, owned_item, repo_of, state_of
from github_standin.rest_issue_edits import edit_body
from github_standin.shapes import View
from github_standin.web_apps import issue_code
from github_standin.webhooks import (
    Event,
    check_run_event,
    check_suite_event,
    deliver,
    issue_comment_event,
    issues_event,
    merge_events,
    pull_request_event,
    push_events,
    redeliver,
)

Result = tuple[int, dict[str, Any], list[Event]]
ControlHandler = Callable[[Request, Ctx, dict[str, Any]], Result]
ROLES = ("read", "triage", "write", "maintain", "admin")
PRESS_ROLES = frozenset({"write", "maintain", "admin"})  # who sees GitHub's check buttons


def get_field(body: dict[str, Any], key: str, kind: type | tuple[type, ...] = str,
         default: Any = ...) -> Any:
    """``body[key]`` of type ``kind``; 422 when required and missing or of the wrong type."""
    if body.get(key) is None:
        if default is ...:
            raise GitHubError(422, f"{key!r} is required")
        return default
    if not isinstance(body[key], kind):
        raise GitHubError(422, f"{key!r} has the wrong type")
    return body[key]


def _files(body: dict[str, Any]) -> dict[str, Any]:
    """``files`` (path → text, or null to delete), on top of the directory ``path`` if given."""
    files: dict[str, Any] = get_field(body, "files", dict, {})
    if "path" in body:
        try:
            files = {**git.read_directory(get_field(body, "path")), **files}
        except FileNotFoundError as exc:
            raise GitHubError(422, str(exc)) from None
    return files


def create_repo(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"owner","name","path"|"files","default_branch","push"}`` → repo with one commit; ``push`` (none
    with ``"push": false``: a repository the App is installed on later, see ``control_installation``)."""
    owner, name = get_field(body, "owner"), get_field(body, "name")
    files = _files(body)
    repo = ctx.state.add_repo(owner, name, get_field(body, "default_branch", default="main"))
    result = actions.push(ctx.state, repo, repo.default_branch, files,
                          get_field(body, "message", default="Initial commit"),
                          get_field(body, "author", default=owner), replace_tree=True)
    events = push_events(ctx.view, result) if get_field(body, "push", bool, True) else []
    return 201, {"repository": ctx.view.repository(repo), "sha": result.commit.sha}, events


def create_commit(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"branch","files": {path: text|null},"message","author","path"?}`` → ``push`` and
    ``pull_request.synchronize`` for open PRs whose head is the branch. With ``path`` the
    commit's tree is that directory (plus ``files``) instead of the branch's tree."""
    repo = repo_of(request, ctx)
    files = _files(body)
    branch = get_field(body, "branch", default=repo.default_branch)
    result = actions.push(ctx.state, repo, branch, files,
                          get_field(body, "message", default="Update files"),
                          get_field(body, "author", default=repo.owner), replace_tree="path" in body)
    data = {"sha": result.commit.sha, "before": result.before, "branch": branch,
            "created": result.before == git.ZERO_SHA}
    return 201, data, push_events(ctx.view, result)


def create_fork(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"owner"}`` → ``owner/<name>`` forked from this repository (no webhook)."""
    repo = actions.fork(ctx.state, repo_of(request, ctx), get_field(body, "owner"))
    return 201, {"repository": ctx.view.repository(repo)}, []


def create_pull(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"head","base","title","body","author","fork","draft"}`` → ``pull_request.opened``."""
    repo = repo_of(request, ctx)
    head = get_field(body, "head")
    author = get_field(body, "author", default=repo.owner)
    issue = actions.open_pull(
        ctx.state, repo, head=head, base=get_field(body, "base", default=repo.default_branch),
        title=get_field(body, "title", default=f"Update {head}"), author=author,
        body=get_field(body, "body", default=None), fork_pr=get_field(body, "fork", bool, False),
        draft=get_field(body, "draft", bool, False),
        association=get_field(body, "author_association", default=None))
    data = {"number": issue.number, "pull_request": ctx.view.pull_request(issue)}
    return 201, data, [pull_request_event(ctx.view, "opened", issue, author)]


def create_issue(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"title","body","author"}`` → a plain issue; ``issues.opened``."""
    repo = repo_of(request, ctx)
    author = get_field(body, "author", default=repo.owner)
    issue = actions.create_issue(ctx.state, repo, get_field(body, "title"),
                                 get_field(body, "body", default=None), author)
    return 201, {"number": issue.number, "issue": ctx.view.issue(issue)}, \
        [issues_event(ctx.view, "opened", issue, author)]


def edit_issue(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"body","author"}``: a person edits an issue's body (ticks a checkbox) → ``issues.edited``
    with ``changes.body.from``."""
    repo = repo_of(request, ctx)
    issue = actions.get_issue(ctx.state, repo, int_param(request, "number"))
    author = get_field(body, "author", default=repo.owner)
    event = edit_body(ctx, issue, get_field(body, "body"), ctx.state.user(author).login)
    return 200, {"issue": ctx.view.issue(issue)}, [event]


def create_comment(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"body","author"}`` → ``issue_comment.created``."""
    repo = repo_of(request, ctx)
    number = int_param(request, "number")
    comment = actions.add_comment(ctx.state, repo, number, body.get("body"),
                                  get_field(body, "author", default=repo.owner))
    issue = actions.get_issue(ctx.state, repo, number)
    return 201, {"comment": ctx.view.comment(comment)}, \
        [issue_comment_event(ctx.view, issue, comment)]


def merge_pull(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"author"}`` → 405 while protection blocks; else ``pull_request.closed`` + ``push``."""
    repo = repo_of(request, ctx)
    issue = actions.get_issue(ctx.state, repo, int_param(request, "number"), pull=True)
    author = get_field(body, "author", default=repo.owner)
    result = actions.merge(ctx.state, issue, author, sha=get_field(body, "sha", default=None),
                           method=get_field(body, "merge_method", default="merge"))
    return 200, actions.merge_answer(result), merge_events(ctx.view, issue, result, author)


def set_collaborator(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"permission": read|triage|write|maintain|admin|none}`` (no webhook)."""
    repo = repo_of(request, ctx)
    login = ctx.state.user(request.path_params["user"]).login
    role = get_field(body, "permission", default="write")
    if role not in (*ROLES, "none"):
        raise GitHubError(422, f"permission must be one of {', '.join(ROLES)} or none")
    repo.collaborators = {k: v for k, v in repo.collaborators.items() if k.lower() != login.lower()}
    if role != "none":
        repo.collaborators[login] = role
    return 200, {"user": login, "permission": role}, []


def _presser(ctx: Ctx, repo: Repo, body: dict[str, Any]) -> str:
    """The ``user`` pressing a check button: 403 without write access, as on GitHub."""
    login = ctx.state.user(get_field(body, "user", default=repo.owner)).login
    if ctx.state.role(repo, login) not in PRESS_ROLES:
        raise GitHubError(403, f"{login} needs write access to {repo.full_name} to re-run checks")
    return login


def rerun_check(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"user"}``: "Re-run" on a completed check run → ``check_run.rerequested``."""
    repo = repo_of(request, ctx)
    user = _presser(ctx, repo, body)
    run = owned_item(request, ctx, ctx.state.check_runs, "check_run_id")
    if run.status != "completed":
        raise GitHubError(422, "This check run is not rerequestable")
    return 201, {"check_run_id": run.id}, [check_run_event(ctx.view, run, "rerequested", user)]


def request_check_action(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"identifier","user"}``: one of the check run's ``actions`` buttons →
    ``check_run.requested_action`` (422 for an identifier the check run does not offer)."""
    repo = repo_of(request, ctx)
    user = _presser(ctx, repo, body)
    run = owned_item(request, ctx, ctx.state.check_runs, "check_run_id")
    identifier = get_field(body, "identifier")
    if identifier not in [a.get("identifier") for a in run.actions]:
        raise GitHubError(422, f"check run {run.id} offers no action {identifier!r}")
    event = check_run_event(ctx.view, run, "requested_action", user, identifier)
    return 201, {"check_run_id": run.id, "identifier": identifier}, [event]


def rerun_check_suite(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"user"}``: "Re-run all checks" of the App's suite → ``check_suite.rerequested``."""
    repo = repo_of(request, ctx)
    user = _presser(ctx, repo, body)
    suite_id = int_param(request, "check_suite_id")
    found = [sha for (key, sha), sid in ctx.state.suites.items() if key == repo.key and sid == suite_id]
    if not found:
        raise not_found()
    event = check_suite_event(ctx.view, repo.key, suite_id, found[0], user)
    return 201, {"check_suite_id": suite_id}, [event]


def set_protection(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"required_contexts": [...], "branch"?}`` (default branch by default; no webhook): the
    branch's required contexts, from any source; its other rules stay."""
    repo = repo_of(request, ctx)
    contexts = get_field(body, "required_contexts", list)
    branch = get_field(body, "branch", default=repo.default_branch)
    protection = repo.protection.setdefault(branch, Protection())
    protection.checks, protection.status_checks = [(str(c), None) for c in contexts], True
    return 200, {"branch": branch, "required_contexts": protection.contexts}, []


def add_fault(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"operation","status","count","retry_after"}``: the next calls of it fail."""
    operation, status = get_field(body, "operation"), get_field(body, "status", int)
    if operation not in request.app.state.operation_ids:
        raise GitHubError(422, f"unknown operation {operation!r}")
    if status not in FAULT_STATUSES:
        raise GitHubError(422, f"status must be one of {sorted(FAULT_STATUSES)}")
    ctx.state.add_fault(operation, status, get_field(body, "count", int, 1),
                        get_field(body, "retry_after", int, 1))
    return 201, {"faults": ctx.state.snapshot()["faults"]}, []


def issue_manifest_code(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"manifest": {...}, "owner"?}`` → a one-time ``code`` for ``POST /app-manifests/{code}/conversions``
    (as if ``owner`` had confirmed the manifest on GitHub's page; 422 for a manifest GitHub refuses)."""
    manifest = get_field(body, "manifest", dict)
    problems = manifest_problems(manifest)
    if problems:
        raise GitHubError(422, "; ".join(problems))
    code = issue_code(ctx.state, manifest, get_field(body, "owner", default=ctx.state.config.app_owner))
    return 201, {"code": code}, []


def get_state(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """Everything the sandbox holds; ``?only=statuses,check_runs``: just those parts."""
    only = request.query_params.get("only")
    return 200, ctx.state.snapshot(None if only is None else only.split(",")), []


def reset(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """Forget repositories, activity, faults and logs (config, keys and tokens stay)."""
    ctx.state.reset()
    return 200, {}, []


def config(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """GET or PUT ``{"webhook_url": str | null}``."""
    if request.method == "PUT" and "webhook_url" in body:
        ctx.state.webhook_url = get_field(body, "webhook_url", default=None)
    return 200, {"webhook_url": ctx.state.webhook_url, "app_id": ctx.state.config.app_id,
                 "installation_id": ctx.state.config.installation_id,
                 "bot": ctx.state.config.bot_login}, []


def control_route(path: str, methods: list[str], handler: ControlHandler,
                  sends: bool = False) -> Route:
    """A ``/_sandbox`` Route: JSON in, handler under the lock, JSON out; with ``sends`` the
    answer lists the webhook ``deliveries`` the action made (possibly none)."""

    async def endpoint(request: Request) -> Response:
        state = state_of(request)
        try:
            body = parse_json_body(await request.body())
            async with state.lock:
                status, data, events = handler(request, Ctx(state, View(state, base_url(request))),
                                               body)
        except GitHubError as error:
            return error.response()
        except ValueError as error:  # e.g. a bad file path
            return GitHubError(422, str(error)).response()
        if sends:
            data["deliveries"] = await deliver(state, events)
        return JSONResponse(data, status_code=status)

    return Route("/_sandbox" + path, endpoint, methods=methods, name=handler.__name__)


async def redeliver_endpoint(request: Request) -> Response:
    """``POST /_sandbox/deliveries/{guid}/redeliver``: GitHub's "Redeliver" button."""
    record = await redeliver(state_of(request), request.path_params["guid"])
    if record is None:
        return not_found().response()
    return JSONResponse(record)


REPO = "/repos/{owner}/{repo}"
ROUTES: list[Route] = [
    control_route("/repos", ["POST"], create_repo, sends=True),
    control_route(REPO + "/commits", ["POST"], create_commit, sends=True),
    control_route(REPO + "/forks", ["POST"], create_fork),
    control_route(REPO + "/pulls", ["POST"], create_pull, sends=True),
    control_route(REPO + "/issues", ["POST"], create_issue, sends=True),
    control_route(REPO + "/issues/{number:int}", ["PATCH"], edit_issue, sends=True),
    control_route(REPO + "/issues/{number:int}/comments", ["POST"], create_comment, sends=True),
    control_route(REPO + "/pulls/{number:int}/merge", ["POST"], merge_pull, sends=True),
    control_route(REPO + "/collaborators/{user}", ["PUT"], set_collaborator),
    control_route(REPO + "/check-runs/{check_run_id:int}/rerequest", ["POST"], rerun_check,
                  sends=True),
    control_route(REPO + "/check-runs/{check_run_id:int}/requested-action", ["POST"],
                  request_check_action, sends=True),
    control_route(REPO + "/check-suites/{check_suite_id:int}/rerequest", ["POST"],
                  rerun_check_suite, sends=True),
    control_route(REPO + "/protection", ["PUT"], set_protection),
    control_route("/faults", ["POST"], add_fault),
    control_route("/app-manifests", ["POST"], issue_manifest_code),
    control_route("/state", ["GET"], get_state),
    control_route("/reset", ["POST"], reset),
    control_route("/config", ["GET", "PUT"], config),
    Route("/_sandbox/deliveries/{guid}/redeliver", redeliver_endpoint, methods=["POST"]),
]
