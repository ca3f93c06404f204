"""Pure routing: a verified delivery → what is stored and which run (if any) it queues.

Kept free of I/O so every corpus delivery can be table-tested. Workers refetch state from
GitHub before acting, so a job carries only keys (repo, PR, SHA), never trusted payload data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from bot.commands.parser import parse_commands
from bot.dashboard.checkbox import ticked
from bot.feedback.names import PRODUCTION_CHECK, RETRAIN_ACTION_ID, SCHEDULED_CHECK
from bot.store import (
    CommandJob,
    IncomingDelivery,
    InstallJob,
    Job,
    JobRequest,
    ProductionJob,
    ScheduledJob,
    StagingJob,
    UninstallJob,
)
from bot.webhooks.models import (
    EVENT_MODELS,
    CheckRunEvent,
    CheckSuiteEvent,
    Envelope,
    InstallationEvent,
    InstallationRepositoriesEvent,
    IssueCommentEvent,
    IssuesEvent,
    PullRequestEvent,
    PushEvent,
    model_for,
)

STAGING_PR_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})


class PayloadError(ValueError):
    """The body is not a JSON object of the shape the event needs."""


_MISSING = re.compile(r"Object missing required field `(.+)`")
_MODELS: list[type[Envelope]] = [Envelope, *EVENT_MODELS.values()]
_DECODERS = {model: msgspec.json.Decoder(model, strict=False) for model in _MODELS}


def parse(event: str, body: bytes) -> Envelope:
    """Parse ``body`` with the tolerant model for ``event``; PayloadError names the problem."""
    try:
        payload: Envelope = _DECODERS[model_for(event)].decode(body)
        return payload
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        where = path.rstrip("`").lstrip(".")
        if missing := _MISSING.fullmatch(message):  # "Object missing required field `x`": name x
            where, message = ".".join(filter(None, (where, missing.group(1)))), "required field missing"
        if not where and message.startswith("Expected `object`"):
            raise PayloadError("body is not a JSON object") from None
        raise PayloadError(f"{event} payload: {where or 'body'}: {message}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None


def route(guid: str, event: str, body: bytes, app_id: int | None) -> IncomingDelivery:
    """Decide what a verified delivery means. Raises PayloadError for malformed bodies."""
    payload = parse(event, body)
    job: JobRequest | None = None
    summary: dict[str, Any] = {}
    router = _ROUTERS.get(event)
    if router is not None:
        job, summary = router(payload, app_id)
    if payload.sender is not None:
        summary.setdefault("sender", payload.sender.login)
    return IncomingDelivery(
        guid=guid,
        event=event,
        action=payload.action,
        installation_id=payload.installation.id if payload.installation else None,
        repository=payload.repository.full_name if payload.repository else None,
        outcome="accepted" if job is not None else "ignored",
        summary=summary,
        job=job,
    )


Routed = tuple[JobRequest | None, dict[str, Any]]


def _job(payload: Envelope, pr: int | None, sha: str | None, trigger: str, job: Job) -> JobRequest:
    assert payload.repository is not None  # callers check
    return JobRequest(
        repository=payload.repository.full_name,
        installation_id=payload.installation.id if payload.installation else None,
        pr_number=pr,
        head_sha=sha,
        trigger=trigger,
        job=job,
    )


def _pull_request(payload: Envelope, app_id: int | None) -> Routed:
    assert isinstance(payload, PullRequestEvent)
    pr, repo = payload.pull_request, payload.repository
    summary: dict[str, Any] = {"pr": pr.number, "head_sha": pr.head.sha, "base": pr.base.ref}
    if repo is None:
        return None, summary | {"reason": "no repository"}
    default = repo.default_branch or (pr.base.repo and pr.base.repo.default_branch)
    if default and pr.base.ref != default:
        return None, summary | {"reason": f"base {pr.base.ref} is not the default branch"}
    if payload.action in STAGING_PR_ACTIONS:
        trigger = f"pull_request.{payload.action}"
        head_repo = pr.head.repo.full_name if pr.head.repo else None
        fork = head_repo is not None and head_repo.lower() != repo.full_name.lower()
        job = StagingJob(draft=bool(pr.draft), fork=fork)
        return _job(payload, pr.number, pr.head.sha, trigger, job), summary
    if payload.action == "closed" and pr.merged and pr.merge_commit_sha:
        request = _job(payload, pr.number, pr.merge_commit_sha, "pull_request.merged", ProductionJob())
        return request, summary | {"merge_sha": pr.merge_commit_sha}
    return None, summary


def _push(payload: Envelope, app_id: int | None) -> Routed:
    """A push to the default branch may run production (``production.on_push``; the worker
    reads the setting and skips commits a PR merged, whose ``closed`` event runs it)."""
    assert isinstance(payload, PushEvent)
    repo = payload.repository
    summary: dict[str, Any] = {"ref": payload.ref, "after": payload.after}
    if repo is None or not repo.default_branch or payload.ref != f"refs/heads/{repo.default_branch}":
        return None, summary
    if payload.deleted or not payload.after or not payload.after.strip("0"):
        return None, summary
    return _job(payload, None, payload.after, "push", ProductionJob()), summary


def _is_bot(account: Any) -> bool:
    return account is not None and (account.type == "Bot" or account.login.endswith("[bot]"))


def _issue_comment(payload: Envelope, app_id: int | None) -> Routed:
    assert isinstance(payload, IssueCommentEvent)
    issue, comment = payload.issue, payload.comment
    summary: dict[str, Any] = {"issue": issue.number, "comment_id": comment.id}
    if payload.action != "created" or issue.pull_request is None or payload.repository is None:
        return None, summary
    author = comment.user or payload.sender
    if _is_bot(author) or _is_bot(payload.sender):
        return None, summary | {"reason": "comment by a bot"}
    invocations = parse_commands(comment.body)
    if not invocations:
        return None, summary
    commands = tuple(invocations)
    login = author.login if author else None
    job = _job(payload, issue.number, None, "issue_comment.command",
               CommandJob(comment_id=comment.id, author=login, commands=commands,
                          commented_at=comment.created_at))
    return job, summary | {"commands": [c.line for c in commands]}


def _approved(payload: Envelope, sha: str) -> StagingJob:
    """Check buttons are pressed by people with write access (GitHub's rule): the press approves
    running that commit, as a maintainer's ``/retrain`` does for a fork's PR."""
    return StagingJob(approved_sha=sha, approved_by=payload.sender.login if payload.sender else None)


def _ours(app: Any, app_id: int | None) -> bool:
    return app is not None and app_id is not None and app.id == app_id


def _check_run(payload: Envelope, app_id: int | None) -> Routed:
    assert isinstance(payload, CheckRunEvent)
    run = payload.check_run
    summary: dict[str, Any] = {"check_run_id": run.id, "head_sha": run.head_sha}
    wanted = payload.action == "rerequested" or (
        payload.action == "requested_action"
        and payload.requested_action is not None
        and payload.requested_action.identifier == RETRAIN_ACTION_ID
    )
    if not wanted or payload.repository is None or not _ours(run.app, app_id):
        return None, summary
    pr = run.pull_requests[0].number if run.pull_requests else None
    trigger = f"check_run.{payload.action}"
    if run.name == PRODUCTION_CHECK:  # Re-run on the production check runs production again
        if payload.action != "rerequested":
            return None, summary
        return _job(payload, pr, run.head_sha, trigger, ProductionJob()), summary
    if run.name == SCHEDULED_CHECK:  # Re-run on a scheduled check: a scheduled run on today's head
        if payload.action != "rerequested":
            return None, summary
        return _job(payload, None, None, trigger, _asked(payload, None)), summary
    return _job(payload, pr, run.head_sha, trigger, _approved(payload, run.head_sha)), summary


def _check_suite(payload: Envelope, app_id: int | None) -> Routed:
    assert isinstance(payload, CheckSuiteEvent)
    suite = payload.check_suite
    summary: dict[str, Any] = {"check_suite_id": suite.id, "head_sha": suite.head_sha}
    if payload.action != "rerequested" or payload.repository is None or not suite.head_sha:
        return None, summary
    if not _ours(suite.app, app_id):
        return None, summary
    pr = suite.pull_requests[0].number if suite.pull_requests else None
    job = _job(payload, pr, suite.head_sha, "check_suite.rerequested", _approved(payload, suite.head_sha))
    return job, summary


def _asked(payload: Envelope, at: Any, issue: int | None = None) -> ScheduledJob:
    """A scheduled run a person asked for (the worker checks their write access); ``issue``: the dashboard
    whose checkbox they ticked (unticked at once, ``bot.runs.acknowledger``)."""
    requester = payload.sender.login if payload.sender else None
    return ScheduledJob(fire_at=at, requested_by=requester, issue=issue)


def _issues(payload: Envelope, app_id: int | None) -> Routed:
    """A person ticking the dashboard's "retrain now" checkbox (the issue is a bot's; the edit turned the
    unticked box ticked) asks for a scheduled run. The bot's own edits untick it: never a request."""
    assert isinstance(payload, IssuesEvent)
    issue = payload.issue
    summary: dict[str, Any] = {"issue": issue.number}
    if payload.action != "edited" or payload.repository is None or issue.pull_request is not None:
        return None, summary
    if _is_bot(payload.sender) or not _is_bot(issue.user):
        return None, summary
    before = payload.changes.body.from_ if payload.changes and payload.changes.body else None
    if not ticked(before, issue.body):
        return None, summary
    job = _job(payload, None, None, "issues.edited", _asked(payload, issue.updated_at, issue.number))
    return job, summary | {"reason": "retrain now ticked"}


REACHED = frozenset({"installation.created", "installation.unsuspend", "installation_repositories.added"})
LOST = frozenset({"installation.deleted", "installation.suspend", "installation_repositories.removed"})


def _listed(payload: Envelope) -> tuple[str, ...] | None:
    """The repositories an installation event names (None: it names none, GitHub's list is to be asked)."""
    if isinstance(payload, InstallationRepositoriesEvent):
        stubs = payload.repositories_added if payload.action == "added" else payload.repositories_removed
    else:
        assert isinstance(payload, InstallationEvent)
        stubs = payload.repositories or []
    names = tuple(r.full_name for r in stubs if r.full_name)
    return names or None


def _installation(payload: Envelope, app_id: int | None) -> Routed:
    """The App reached repositories (installed on them, repositories added, the installation unsuspended:
    an ``install`` run reads their schedules from their default branches) or lost them (uninstalled,
    repositories removed, suspended: an ``uninstall`` run drops their schedules)."""
    summary: dict[str, Any] = {}
    if payload.installation is None:
        return None, summary
    event = "installation" if isinstance(payload, InstallationEvent) else "installation_repositories"
    trigger = f"{event}.{payload.action}"
    listed = _listed(payload)
    job: Job
    if trigger == "installation_repositories.added" and listed is None:
        return None, summary | {"reason": "no repositories added"}
    if trigger in REACHED:
        job = InstallJob(installation_id=payload.installation.id, repositories=listed)
        summary["added"] = list(listed or ())
    elif trigger == "installation_repositories.removed":
        job = UninstallJob(installation_id=payload.installation.id, repositories=listed or ())
        summary["removed"] = list(listed or ())
    elif trigger in LOST:
        job = UninstallJob(installation_id=payload.installation.id, repositories=None)
    else:
        return None, summary
    account = payload.installation.account.login if payload.installation.account else "unknown"
    return JobRequest(f"{account}/*", payload.installation.id, None, None, trigger, job), summary


_ROUTERS: dict[str, Callable[[Envelope, int | None], Routed]] = {
    "pull_request": _pull_request,
    "push": _push,
    "issue_comment": _issue_comment,
    "check_run": _check_run,
    "check_suite": _check_suite,
    "issues": _issues,
    "installation": _installation,
    "installation_repositories": _installation,
}
