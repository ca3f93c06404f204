"""REST: commit statuses and check runs (with GitHub's documented limits)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from github_standin import shapes_ci
from github_standin.errors import GitHubError, invalid, validation_failed
from github_standin.models import CheckRun, CommitStatus, Repo
from github_standin.rest import Ctx, json_body, json_response, owned_item, paginate, repo_of, rest_route
from github_standin.state import SandboxState, now_iso

STATUS_STATES = ("error", "failure", "pending", "success")
STATUS_DESCRIPTION_MAX = 140
STATUSES_PER_CONTEXT = 1000
CHECK_STATUSES = ("queued", "in_progress", "completed")
CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped",
               "timed_out")
ANNOTATION_LEVELS = ("notice", "warning", "failure")
TEXT_MAX = 65535
MAX_ANNOTATIONS = 50
MAX_ACTIONS = 3
ACTION_LIMITS = {"label": 20, "identifier": 20, "description": 40}


def _ref_sha(state: SandboxState, repo: Repo, ref: str, status: int = 404) -> str:
    """The commit ``ref`` names; GitHub answers 422 for writes and 404 for reads otherwise."""
    sha = state.resolve_ref(repo, ref)
    if sha is None:
        raise GitHubError(status, f"No commit found for SHA: {ref}")
    return sha


async def create_status(request: Request, ctx: Ctx) -> Response:
    """POST /repos/{owner}/{repo}/statuses/{sha}."""
    body = await json_body(request)
    state_name, description = body.get("state"), body.get("description")
    if state_name not in STATUS_STATES:
        raise validation_failed("Status", "state", "custom", "state is not included in the list")
    if description is not None and len(str(description)) > STATUS_DESCRIPTION_MAX:
        raise validation_failed("Status", "description", "custom",
                                "description is too long (maximum is 140 characters)")
    context = str(body.get("context") or "default")
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = _ref_sha(ctx.state, repo, request.path_params["sha"], 422)
        same = [s for s in ctx.state.statuses if (s.repo, s.sha, s.context) == (repo.key, sha,
                                                                                  context)]
        if len(same) >= STATUSES_PER_CONTEXT:
            raise validation_failed("Status", "context", "custom",
                                    "This SHA and context has reached the maximum number "
                                    "of statuses.")
        item = CommitStatus(ctx.state.next_id("status"), repo.key, sha, state_name, context,
                            description, body.get("target_url"), ctx.bot, now_iso(), ctx.app_id)
        ctx.state.statuses.append(item)
        data = shapes_ci.status(ctx.view, item)
    return json_response(data, 201, {"Location": data["url"]})


async def combined_status(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/commits/{ref}/status."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = _ref_sha(ctx.state, repo, request.path_params["ref"])
        return json_response(shapes_ci.combined_status(ctx.view, repo, sha))


async def list_statuses(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/commits/{ref}/statuses (newest first, paginated)."""
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = _ref_sha(ctx.state, repo, request.path_params["ref"])
        items = [s for s in reversed(ctx.state.statuses) if s.repo == repo.key and s.sha == sha]
        page, headers = paginate(request, items)
        return json_response([shapes_ci.status(ctx.view, s) for s in page], headers=headers)


def _text(body: dict[str, Any], key: str, *, required: bool = False,
          max_len: int | None = None, where: str = "") -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(f'"{key}" wasn\'t supplied.')
        return None
    if not isinstance(value, str):
        raise invalid(f"For '{where}properties/{key}', {value!r} is not a string.")
    if max_len is not None and len(value) > max_len:
        raise invalid(f"For '{where}properties/{key}', \"{value[:20]}...\" is too long "
                      f"(maximum is {max_len} characters).")
    return value


def _enum(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(key)
    if value is not None and value not in allowed:
        raise invalid(f"For 'properties/{key}', {value!r} is not a possible value.")
    return value


def _check_output(output: Any) -> int:
    """Validate ``output``; returns how many annotations it adds."""
    if not isinstance(output, dict):
        raise invalid("For 'properties/output', it is not an object.")
    _text(output, "title", required=True, where="output/")
    _text(output, "summary", required=True, max_len=TEXT_MAX, where="output/")
    _text(output, "text", max_len=TEXT_MAX, where="output/")
    annotations = output.get("annotations") or []
    if not isinstance(annotations, list) or len(annotations) > MAX_ANNOTATIONS:
        raise invalid(f"For 'properties/annotations', at most {MAX_ANNOTATIONS} items "
                      "are allowed per request.")
    for item in annotations:
        if not isinstance(item, dict):
            raise invalid("For 'items', it is not an object.")
        for key in ("path", "message"):
            _text(item, key, required=True, where="annotations/")
        if not all(isinstance(item.get(k), int) for k in ("start_line", "end_line")):
            raise invalid('"start_line" and "end_line" must be integers.')
        _enum(item, "annotation_level", ANNOTATION_LEVELS)
    return len(annotations)


def _check_actions(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or len(items) > MAX_ACTIONS:
        raise invalid(f"For 'properties/actions', at most {MAX_ACTIONS} items are allowed.")
    for item in items:
        if not isinstance(item, dict):
            raise invalid("For 'items', it is not an object.")
        for key, limit in ACTION_LIMITS.items():
            _text(item, key, required=True, max_len=limit, where="actions/items/")
    return items


def _apply(run: CheckRun, body: dict[str, Any]) -> None:
    """Validate a create/update body and apply it to ``run``."""
    for key in ("name", "details_url", "external_id", "started_at", "completed_at"):
        _text(body, key)
    status = _enum(body, "status", CHECK_STATUSES)
    if body.get("conclusion") == "stale":
        raise invalid("For 'properties/conclusion', only GitHub can set \"stale\".")
    conclusion = _enum(body, "conclusion", CONCLUSIONS)
    if conclusion is None and (status == "completed" or body.get("completed_at")):
        raise invalid('"conclusion" wasn\'t supplied.')
    if "output" in body:
        run.annotations_count += _check_output(body["output"])
        run.output.update({k: body["output"].get(k) for k in ("title", "summary", "text")
                           if k in body["output"]})
        if "summary" in body["output"]:
            run.summaries.append(str(body["output"]["summary"]))
    if "actions" in body:
        run.actions = _check_actions(body["actions"])
    for key in ("name", "details_url", "external_id", "started_at"):
        if key in body:
            setattr(run, key, body[key])
    if status is not None:
        run.status = status
    if status == "in_progress" and run.started_at is None:
        run.started_at = now_iso()
    if conclusion is not None:
        run.status, run.conclusion = "completed", conclusion
        run.completed_at = body.get("completed_at") or now_iso()


async def create_check_run(request: Request, ctx: Ctx) -> Response:
    """POST /repos/{owner}/{repo}/check-runs."""
    body = await json_body(request)
    name = _text(body, "name", required=True)
    head_sha = _text(body, "head_sha", required=True)
    assert name is not None and head_sha is not None
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = _ref_sha(ctx.state, repo, head_sha, 422)
        run = CheckRun(0, repo.key, name, sha, ctx.state.suite_id(repo, sha), "queued", None,
                       now_iso(), None, None, None)
        _apply(run, body)
        run.app_id = ctx.app_id
        run.id = ctx.state.next_id("check_run")
        ctx.state.check_runs[run.id] = run
        return json_response(shapes_ci.check_run(ctx.view, run), 201)


def _run(request: Request, ctx: Ctx) -> CheckRun:
    return owned_item(request, ctx, ctx.state.check_runs, "check_run_id")


async def update_check_run(request: Request, ctx: Ctx) -> Response:
    """PATCH /repos/{owner}/{repo}/check-runs/{check_run_id} (all-or-nothing)."""
    body = await json_body(request)
    async with ctx.state.lock:
        run = _run(request, ctx)
        draft = replace(run, output=dict(run.output), actions=list(run.actions),
                        summaries=list(run.summaries))
        _apply(draft, body)
        ctx.state.check_runs[run.id] = draft
        return json_response(shapes_ci.check_run(ctx.view, draft))


async def get_check_run(request: Request, ctx: Ctx) -> Response:
    """GET /repos/{owner}/{repo}/check-runs/{check_run_id}."""
    async with ctx.state.lock:
        return json_response(shapes_ci.check_run(ctx.view, _run(request, ctx)))


async def list_check_runs(request: Request, ctx: Ctx) -> Response:
    """GET .../commits/{ref}/check-runs: ``check_name``, ``status``, ``filter`` (latest|all)."""
    query = request.query_params
    async with ctx.state.lock:
        repo = repo_of(request, ctx)
        sha = _ref_sha(ctx.state, repo, request.path_params["ref"])
        runs = [r for r in ctx.state.check_runs.values() if r.repo == repo.key
                and r.head_sha == sha]
        if "check_name" in query:
            runs = [r for r in runs if r.name == query["check_name"]]
        if "status" in query:
            runs = [r for r in runs if r.status == query["status"]]
        if query.get("filter", "latest") == "latest":
            runs = list({r.name: r for r in runs}.values())
        runs.sort(key=lambda r: r.id, reverse=True)
        page, headers = paginate(request, runs)
        return json_response({"total_count": len(runs),
                              "check_runs": [shapes_ci.check_run(ctx.view, r) for r in page]},
                             headers=headers)


REPO = "/repos/{owner}/{repo}"
ROUTES: list[Route] = [
    rest_route(REPO + "/statuses/{sha}", "POST", "repos/create-commit-status", create_status),
    rest_route(REPO + "/commits/{ref:path}/status", "GET", "repos/get-combined-status-for-ref",
               combined_status),
    rest_route(REPO + "/commits/{ref:path}/statuses", "GET",
               "repos/list-commit-statuses-for-ref", list_statuses),
    rest_route(REPO + "/commits/{ref:path}/check-runs", "GET", "checks/list-for-ref",
               list_check_runs),
    rest_route(REPO + "/check-runs", "POST", "checks/create", create_check_run),
    rest_route(REPO + "/check-runs/{check_run_id:int}", "PATCH", "checks/update",
               update_check_run),
    rest_route(REPO + "/check-runs/{check_run_id:int}", "GET", "checks/get", get_check_run),
]
