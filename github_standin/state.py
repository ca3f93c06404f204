"""All sandbox state, in memory, behind one asyncio lock; ids count up deterministically."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from github_standin import git
from github_standin.apps import ManifestCode, StandinApp, configured_app
from github_standin.config import SandboxConfig
from github_standin.errors import GitHubError, not_found
from github_standin.models import (
    CheckRun,
    Comment,
    Commit,
    CommitStatus,
    Deployment,
    DeploymentStatus,
    Fault,
    Issue,
    Protection,
    Reaction,
    Repo,
    User,
)

TOKEN_TTL = 3600
ROLE_TO_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write",
                      "triage": "read", "read": "read"}


def now_iso(offset: float = 0) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SSZ`` (GitHub's timestamp form), ``offset`` seconds from now."""
    return datetime.fromtimestamp(time.time() + offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SandboxState:
    """The fake GitHub's memory. Mutate it only while holding ``lock``."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = asyncio.Lock()
        self.delivery_lock = asyncio.Lock()  # keeps webhook deliveries in order
        self.webhook_url = config.webhook_url
        self.apps: dict[int, StandinApp] = {config.app_id: configured_app(config)}
        self.tokens: dict[str, tuple[float, int]] = {}  # installation token → (expiry, App id)
        self.manifest_codes: dict[str, ManifestCode] = {}
        self.started_at = now_iso()
        self.reset()

    @property
    def app(self) -> StandinApp:
        """The configured App (the one webhooks are sent for)."""
        return self.apps[self.config.app_id]

    def reset(self) -> None:
        """Forget repositories, activity, faults, logs and the Apps created from manifests (config, the
        configured App, its key and tokens stay)."""
        self.apps = {self.config.app_id: self.apps[self.config.app_id]}
        self.tokens = {token: held for token, held in self.tokens.items() if held[1] in self.apps}
        self._ids: dict[str, int] = {}
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.commits: dict[str, Commit] = {}
        self.issues: dict[tuple[str, int], Issue] = {}
        self.comments: dict[int, Comment] = {}
        self.reactions: list[Reaction] = []
        self.statuses: list[CommitStatus] = []
        self.check_runs: dict[int, CheckRun] = {}
        self.suites: dict[tuple[str, str], int] = {}
        self.deployments: dict[int, Deployment] = {}
        self.deployment_statuses: list[DeploymentStatus] = []
        self.codeload: dict[str, tuple[str, str, float]] = {}
        self.faults: dict[str, deque[Fault]] = {}
        self.requests: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.sent: dict[str, tuple[str, bytes, int]] = {}  # guid → (event, body, App id), for redelivery
        self.bot = self.user(self.config.bot_login, "Bot")

    # ids, users, tokens -------------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        """The next id of ``kind`` (1, 2, 3, ...)."""
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def user(self, login: str, type_: str = "User") -> User:
        """The account ``login``, created on first mention."""
        found = self.users.get(login.lower())
        if found is None:
            found = self.users[login.lower()] = User(login, self.next_id("user"), type_)
        return found

    def known_user(self, login: str) -> User | None:
        """The account ``login`` if the sandbox has seen it."""
        return self.users.get(login.lower())

    def issue_token(self, app: StandinApp | None = None) -> tuple[str, str]:
        """A new installation token of ``app`` (the configured App by default) and its ``expires_at``."""
        token = "ghs_" + secrets.token_hex(18)
        self.tokens[token] = (time.time() + TOKEN_TTL, (app or self.app).id)
        return token, now_iso(TOKEN_TTL)

    def token_app(self, token: str) -> StandinApp | None:
        """The App whose installation an issued, unexpired token belongs to, or None."""
        expires, app_id = self.tokens.get(token, (0.0, 0))
        return self.apps.get(app_id) if expires > time.time() else None

    def token_valid(self, token: str) -> bool:
        """True for an issued, unexpired installation token."""
        return self.token_app(token) is not None

    # repositories and commits ---------------------------------------------------------------
    def repo(self, owner: str, name: str) -> Repo:
        """The repository ``owner/name`` or GitHub's 404."""
        found = self.repos.get(f"{owner}/{name}".lower())
        if found is None:
            raise not_found()
        return found

    def add_repo(self, owner: str, name: str, default_branch: str,
                 fork_of: Repo | None = None) -> Repo:
        """Register an empty repository (422 if the name is taken)."""
        if f"{owner}/{name}".lower() in self.repos:
            raise GitHubError(422, "Repository creation failed.", errors=[
                {"resource": "Repository", "code": "custom", "field": "name",
                 "message": "name already exists on this account"}])
        self.user(owner)
        stamp = now_iso()
        repo = Repo(owner, name, self.next_id("repo"), default_branch, stamp, stamp,
                    fork_of=fork_of.key if fork_of else None)
        if fork_of is None:
            repo.protection[default_branch] = Protection(
                checks=[(context, None) for context in self.config.required_contexts])
        self.repos[repo.key] = repo
        return repo

    def commit(self, repo: Repo, branch: str, changes: Mapping[str, str | bytes | None],
               message: str, author: str, *, replace_tree: bool = False) -> tuple[str, Commit]:
        """Make a commit on ``branch`` (new branches start at the default branch).

        Returns ``(before, commit)`` where ``before`` is the old branch tip (or 40 zeros).
        """
        before = repo.branches.get(branch)
        start = before or repo.branches.get(repo.default_branch)
        base_tree = {} if replace_tree or start is None else self.commits[start].tree
        tree = git.apply_changes(base_tree, changes)
        stamp = now_iso()
        sha = git.commit_sha(tree, start, message, author, stamp)
        commit = self.commits.setdefault(sha, Commit(sha, tree, start, message, author, stamp))
        repo.branches[branch] = sha
        repo.pushed_at = stamp
        self.user(author)
        return before or git.ZERO_SHA, commit

    def resolve_ref(self, repo: Repo, ref: str) -> str | None:
        """sha for a branch, ``refs/heads/x``, ``refs/pull/N/head``, full or short sha."""
        ref = ref.strip()
        if ref.startswith("refs/heads/"):
            return repo.branches.get(ref.removeprefix("refs/heads/"))
        if ref.startswith("refs/pull/") and ref.endswith("/head"):
            issue = self.issues.get((repo.key, _int(ref.split("/")[2])))
            return issue.pull.head_sha if issue and issue.pull else None
        if ref in repo.branches:
            return repo.branches[ref]
        if len(ref) == 40 and ref in self.commits:
            return ref
        if 7 <= len(ref) < 40:
            matches = [sha for sha in self.commits if sha.startswith(ref.lower())]
            return matches[0] if len(matches) == 1 else None
        return None

    def ancestors(self, sha: str | None) -> list[str]:
        """``sha`` and its parents, newest first."""
        chain = []
        while sha is not None:
            chain.append(sha)
            sha = self.commits[sha].parent
        return chain

    # permissions -----------------------------------------------------------------------------
    def role(self, repo: Repo, login: str) -> str | None:
        """The user's role on ``repo`` (owner → admin), or None."""
        if login.lower() == repo.owner.lower():
            return "admin"
        return {k.lower(): v for k, v in repo.collaborators.items()}.get(login.lower())

    def association(self, repo: Repo, login: str, *, pull_author: bool = False) -> str:
        """``author_association`` of ``login`` on ``repo``."""
        if login.lower() == repo.owner.lower():
            return "OWNER"
        if self.role(repo, login):
            return "COLLABORATOR"
        merged = any(i.repo == repo.key and i.pull and i.pull.merged and
                     i.user.lower() == login.lower() for i in self.issues.values())
        if merged:
            return "CONTRIBUTOR"
        return "FIRST_TIME_CONTRIBUTOR" if pull_author else "NONE"

    def suite_id(self, repo: Repo, sha: str) -> int:
        """The App's check suite for ``sha`` in ``repo``."""
        key = (repo.key, sha)
        if key not in self.suites:
            self.suites[key] = self.next_id("check_suite")
        return self.suites[key]

    # faults and logs ---------------------------------------------------------------------------
    def add_fault(self, operation: str, status: int, count: int, retry_after: int) -> None:
        """Make the next ``count`` calls of ``operation`` fail with ``status``."""
        self.faults.setdefault(operation, deque()).append(Fault(status, count, retry_after))

    def take_fault(self, operation: str) -> Fault | None:
        """Consume one pending fault of ``operation``, if any."""
        queue = self.faults.get(operation)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    def snapshot(self, parts: Collection[str] | None = None) -> dict[str, Any]:
        """Everything, JSON-ready (commits as shas only); ``parts``: only those keys (cheap to poll)."""
        def rows(items: Any) -> list[dict[str, Any]]:
            return [asdict(item) for item in items]

        sections: dict[str, Callable[[], Any]] = {
            "config": lambda: {"webhook_url": self.webhook_url, "app_id": self.config.app_id,
                               "installation_id": self.config.installation_id, "bot": self.config.bot_login},
            "repos": lambda: [{**asdict(r), "full_name": r.full_name, "commits": _repo_commits(self, r)}
                              for r in self.repos.values()],
            "issues": lambda: rows(self.issues.values()),
            "comments": lambda: rows(self.comments.values()),
            "reactions": lambda: rows(self.reactions),
            "statuses": lambda: rows(self.statuses),
            "check_runs": lambda: rows(self.check_runs.values()),
            "deployments": lambda: rows(self.deployments.values()),
            "deployment_statuses": lambda: rows(self.deployment_statuses),
            "faults": lambda: {op: rows(q) for op, q in self.faults.items() if q},
            "requests": lambda: list(self.requests),
            "deliveries": lambda: list(self.deliveries),
        }
        return {key: build() for key, build in sections.items() if parts is None or key in parts}


def _repo_commits(state: SandboxState, repo: Repo) -> list[str]:
    seen: dict[str, None] = {}
    for tip in repo.branches.values():
        for sha in state.ancestors(tip):
            seen.setdefault(sha)
    return list(seen)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1
