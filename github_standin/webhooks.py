"""Webhook payloads shaped like GitHub's deliveries, signed and sent in order."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx

from github_standin import git, shapes_ci
from github_standin.actions import PushResult
from github_standin.hooks import Hook, as_seen_by, hooks_for
from github_standin.models import CheckRun, Comment, Issue
from github_standin.shapes import View
from github_standin.state import SandboxState

Event = tuple[str, dict[str, Any]]
MAX_PUSH_COMMITS = 20
_background: set[asyncio.Task[Any]] = set()
_TLS = httpx.create_ssl_context()  # one CA bundle load for every delivery client, not one per batch


def signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` as GitHub computes it: HMAC-SHA256 of the exact body bytes, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _envelope(view: View, repo_key: str, sender: str, **fields: Any) -> dict[str, Any]:
    repo = view.state.repos[repo_key]
    return {**fields, "repository": view.repository(repo), "sender": view.user(sender),
            "installation": view.installation_ref()}


def pull_request_event(view: View, action: str, issue: Issue, sender: str,
                       **extra: Any) -> Event:
    """``pull_request`` with ``action`` (``before``/``after`` go in ``extra`` for synchronize)."""
    payload = {"action": action, "number": issue.number,
               "pull_request": view.pull_request(issue), **extra}
    return "pull_request", _envelope(view, issue.repo, sender, **payload)


def issue_comment_event(view: View, issue: Issue, comment: Comment) -> Event:
    """``issue_comment.created``."""
    return "issue_comment", _envelope(view, issue.repo, comment.user, action="created",
                                      issue=view.issue(issue), comment=view.comment(comment))


def issues_event(view: View, action: str, issue: Issue, sender: str, **extra: Any) -> Event:
    """``issues`` with ``action`` (``changes`` for edited go in ``extra``)."""
    return "issues", _envelope(view, issue.repo, sender, action=action, issue=view.issue(issue), **extra)


def _installation(view: View, repos: list[str]) -> dict[str, Any]:
    """The installation, seen from the account of the first of ``repos`` (of any repository when none)."""
    keys = repos or sorted(view.state.repos)
    owner = view.state.repos[keys[0]].owner if keys else view.state.config.bot_login
    return view.installation(owner)


def installation_event(view: View, action: str, repos: list[str] | None, sender: str) -> Event:
    """``installation`` (``created``, ``deleted``: uninstalled, ``suspend``, ...), listing the repositories it
    covers (``repos`` None: without the list, as GitHub sends ``suspend`` and ``unsuspend``)."""
    payload: dict[str, Any] = {"action": action, "installation": _installation(view, repos or []),
                               "sender": view.user(sender)}
    if repos is not None:
        payload["repositories"] = [view.repository_stub(view.state.repos[k]) for k in repos]
    return "installation", payload


def installation_repositories_event(view: View, action: str, repos: list[str], sender: str) -> Event:
    """``installation_repositories`` ``added`` or ``removed`` (repositories chosen in the App's settings)."""
    stubs = [view.repository_stub(view.state.repos[k]) for k in repos]
    return "installation_repositories", {
        "action": action, "installation": _installation(view, repos), "repository_selection": "selected",
        "repositories_added": stubs if action == "added" else [],
        "repositories_removed": stubs if action == "removed" else [],
        "requester": None, "sender": view.user(sender)}


def check_run_event(view: View, run: CheckRun, action: str, sender: str,
                    identifier: str | None = None) -> Event:
    """``check_run`` ``rerequested`` or ``requested_action`` (with the pressed ``identifier``);
    the check run carries its whole check suite, as GitHub's deliveries do."""
    repo = view.state.repos[run.repo]
    suite = shapes_ci.check_suite(view, repo, run.suite_id, run.head_sha)
    for key in ("latest_check_runs_count", "check_runs_url", "head_commit"):
        suite.pop(key)
    fields: dict[str, Any] = {"action": action,
                              "check_run": {**shapes_ci.check_run(view, run), "check_suite": suite}}
    if identifier is not None:
        fields["requested_action"] = {"identifier": identifier}
    return "check_run", _envelope(view, run.repo, sender, **fields)


def check_suite_event(view: View, repo_key: str, suite_id: int, sha: str, sender: str) -> Event:
    """``check_suite.rerequested``."""
    suite = shapes_ci.check_suite(view, view.state.repos[repo_key], suite_id, sha)
    return "check_suite", _envelope(view, repo_key, sender, action="rerequested", check_suite=suite)


def push_events(view: View, result: PushResult) -> list[Event]:
    """``push`` (only for repositories the App is installed on: not forks of other owners)
    then ``pull_request.synchronize`` for each pull request whose head moved."""
    events: list[Event] = []
    if result.repo.fork_of is None:
        events.append(("push", _push_payload(view, result)))
    for issue, head_before in result.synced:
        events.append(pull_request_event(view, "synchronize", issue, result.pusher,
                                         before=head_before, after=result.commit.sha))
    return events


def merge_events(view: View, issue: Issue, result: PushResult, sender: str) -> list[Event]:
    """What a merge sends: ``pull_request.closed`` (merged) then the base branch's ``push``."""
    return [pull_request_event(view, "closed", issue, sender), *push_events(view, result)]


def _push_payload(view: View, result: PushResult) -> dict[str, Any]:
    state, repo = view.state, result.repo
    web = f"{view.base}/{repo.full_name}"
    created = result.before == git.ZERO_SHA
    stop = {result.before}
    if created:  # a new branch lists the commits no other branch has
        stop = {sha for name, tip in repo.branches.items() if name != result.branch
                for sha in state.ancestors(tip)}
    commits: list[dict[str, Any]] = []
    for sha in state.ancestors(result.commit.sha):
        if sha in stop or len(commits) == MAX_PUSH_COMMITS:
            break
        commits.append(_push_commit(view, web, sha))
    commits.reverse()
    pusher = state.user(result.pusher)
    compare = (f"{web}/commit/{result.commit.sha}" if created
               else f"{web}/compare/{result.before[:12]}...{result.commit.sha[:12]}")
    return {
        "ref": f"refs/heads/{result.branch}", "before": result.before,
        "after": result.commit.sha, "repository": view.repository(repo, push=True),
        "pusher": {"name": pusher.login, "email": f"{pusher.id}+{pusher.login}@users.noreply"},
        "sender": view.user(result.pusher), "installation": view.installation_ref(),
        "created": created, "deleted": False, "forced": False, "base_ref": None,
        "compare": compare, "commits": commits,
        "head_commit": _push_commit(view, web, result.commit.sha),
    }


def _push_commit(view: View, web: str, sha: str) -> dict[str, Any]:
    commit = view.state.commits[sha]
    parent_tree = view.state.commits[commit.parent].tree if commit.parent else {}
    author = view.state.user(commit.author)
    person = {"name": author.login, "email": f"{author.id}+{author.login}@users.noreply",
              "username": author.login}
    return {"id": sha, "tree_id": git.tree_sha(commit.tree), "distinct": True,
            "message": commit.message, "timestamp": commit.timestamp,
            "url": f"{web}/commit/{sha}", "author": person, "committer": dict(person),
            **git.changed_paths(parent_tree, commit.tree)}


def _headers(hook: Hook, event: str, guid: str, body: bytes) -> dict[str, str]:
    secret = hook.secret.encode()
    return {
        "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/sandbox",
        "X-GitHub-Event": event, "X-GitHub-Delivery": guid, "X-GitHub-Hook-ID": hook.hook_id,
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(hook.app.id),
        "X-Hub-Signature": "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": signature(hook.secret, body),
    }


async def deliver(state: SandboxState, events: list[Event]) -> list[dict[str, Any]]:
    """POST each event, in order, to each App's webhook URL (``hooks``); record (never retry) each answer."""
    records: list[dict[str, Any]] = []
    async with state.delivery_lock:
        for event, payload in events:
            for hook in hooks_for(state, event):
                seen = as_seen_by(payload, hook.app, state.app)
                body = json.dumps(seen, separators=(",", ":"), ensure_ascii=False).encode()
                guid = str(uuid.uuid4())
                state.sent[guid] = (event, body, hook.app.id)
                records.append(await _send(state, hook, event, guid, body))
    return records


async def redeliver(state: SandboxState, guid: str) -> dict[str, Any] | None:
    """Send a delivery again, same GUID and bytes, to the same App (GitHub's "Redeliver"); None if unknown."""
    if guid not in state.sent:
        return None
    event, body, app_id = state.sent[guid]
    found = [hook for hook in hooks_for(state, event) if hook.app.id == app_id]
    if not found:
        return None
    async with state.delivery_lock:
        return await _send(state, found[0], event, guid, body, redelivery=True)


async def _send(
    state: SandboxState, hook: Hook, event: str, guid: str, body: bytes, redelivery: bool = False
) -> dict[str, Any]:
    record: dict[str, Any] = {"guid": guid, "event": event, "app_id": hook.app.id,
                              "action": json.loads(body).get("action"), "redelivery": redelivery,
                              "url": hook.url, "status": None, "error": None}
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=state.config.webhook_timeout, trust_env=False,
                                 verify=_TLS) as client:
        if hook.url is None:
            record["error"] = "no webhook_url configured"
        else:
            try:
                answer = await client.post(hook.url, content=body,
                                           headers=_headers(hook, event, guid, body))
                record["status"] = answer.status_code
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
    record["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    state.deliveries.append(record)
    return record


def deliver_later(state: SandboxState, events: list[Event]) -> None:
    """Send events in the background (REST calls answer without waiting for the receiver)."""
    task = asyncio.get_running_loop().create_task(deliver(state, events))
    _background.add(task)
    task.add_done_callback(_background.discard)
