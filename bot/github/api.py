"""The narrow set of GitHub operations modelgate performs for one installation.

Every create is idempotent: when a create fails in a way that may still have applied it
(5xx, timeout, dropped connection), we look for what we meant to create before trying again,
so a retry never leaves a second comment or check run behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from githubkit import GitHub
from githubkit.exception import RequestError, RequestFailed
from githubkit.response import Response

from bot.github.issues import IssueCalls
from bot.github.limits import PermissionCache, SlidingWindowLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")
STATUS_DESCRIPTION_MAX = 140  # GitHub rejects longer commit status descriptions
PAGE_SIZE = 100


@dataclass(frozen=True)
class Repo:
    """A repository named ``owner/name``."""

    owner: str
    name: str

    @classmethod
    def parse(cls, full_name: str) -> Repo:
        """``"octo/hello"`` → Repo("octo", "hello"); ValueError for anything else."""
        owner, sep, name = full_name.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ValueError(f"not an owner/name repository: {full_name!r}")
        return cls(owner, name)

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"


def _json(response: Response[Any, Any]) -> Any:
    """The response's JSON, untyped: this module hands GitHub's JSON on as plain dicts and lists.

    githubkit types ``.json()`` as its TypedDicts, which are not ``dict[str, Any]`` (and some, like
    ``issues.list_comments``', name a ``list`` that its client class shadows); the value is the same.
    """
    return response.raw_response.json()


def _maybe_applied(exc: Exception) -> bool:
    """True when a failed write may nonetheless have happened on GitHub's side."""
    if isinstance(exc, RequestFailed):
        return exc.response.status_code >= 500
    return isinstance(exc, RequestError)


def _unless_missing(request: Callable[[], T], missing: tuple[int, ...] = (404,)) -> T | None:
    """``request()``, or None when GitHub answers that what it names does not exist."""
    try:
        return request()
    except RequestFailed as exc:
        if exc.response.status_code in missing:
            return None
        raise


def create_once(create: Callable[[], T], find: Callable[[], T | None], attempts: int = 3) -> T:
    """Run ``create``; after an ambiguous failure, ``find`` what it made before trying again."""
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except (RequestFailed, RequestError) as exc:
            if not _maybe_applied(exc) or attempt == attempts:
                raise
            log.warning("create failed ambiguously (%r); looking before retrying", exc)
            existing = find()
            if existing is not None:
                return existing
    raise AssertionError("unreachable")


class InstallationAPI(IssueCalls):
    """GitHub REST calls authenticated as one App installation.

    Content-creating calls (POST/PATCH that write) wait on ``limiter`` when one is given;
    ``permission()`` answers from ``permissions`` while an entry is fresh. ``GitHubApp`` shares
    both between every object it hands out for the same installation.
    """

    def __init__(self, github: GitHub[Any], *, limiter: SlidingWindowLimiter | None = None,
                 permissions: PermissionCache | None = None) -> None:
        self._gh = github
        self.limiter = limiter
        self.permissions = permissions

    def _content(self) -> None:
        """Wait for room in the content-creation windows (no-op without a limiter)."""
        if self.limiter is not None:
            self.limiter.acquire()

    def has_content_room(self) -> bool:
        """Whether a content-creating call made now would go through without waiting (best-effort
        writes, like live progress, skip a turn instead of queueing behind the verdicts)."""
        return self.limiter is None or self.limiter.delay() <= 0

    def get_pull(self, repo: Repo, number: int) -> dict[str, Any]:
        """The pull request as GitHub returns it (state, head.sha, base.ref, draft, ...)."""
        return _json(self._gh.rest.pulls.get(repo.owner, repo.name, number))

    def find_pull(self, repo: Repo, number: int) -> dict[str, Any] | None:
        """The pull request as GitHub returns it, or None when the repository has no such PR."""
        return _unless_missing(lambda: self.get_pull(repo, number))

    def get_repository(self, repo: Repo) -> dict[str, Any]:
        """The repository as GitHub returns it (``default_branch``, ...)."""
        return _json(self._gh.rest.repos.get(repo.owner, repo.name))

    def compare_commits(self, repo: Repo, base: str, head: str) -> dict[str, Any] | None:
        """GitHub's comparison of ``base...head`` (``status``: identical, behind, ahead or diverged;
        one commit listed at most), or None when GitHub does not know one of them."""
        return _unless_missing(lambda: _json(self._gh.rest.repos.compare_commits(
            repo.owner, repo.name, f"{base}...{head}", per_page=1)), missing=(404, 422))

    def pulls_for_commit(self, repo: Repo, sha: str) -> list[dict[str, Any]]:
        """The pull requests (open, closed or merged) that introduced commit ``sha``: on the
        default branch that is the merged one, so a direct push gives an empty list."""
        return _json(self._gh.rest.repos.list_pull_requests_associated_with_commit(
            repo.owner, repo.name, sha, per_page=PAGE_SIZE
        ))

    def set_status(
        self, repo: Repo, sha: str, *, state: str, context: str, description: str,
        target_url: str | None = None,
    ) -> None:
        """Set a commit status (latest per context wins, so repeating it is harmless)."""
        if len(description) > STATUS_DESCRIPTION_MAX:
            description = description[: STATUS_DESCRIPTION_MAX - 1] + "…"
        data: dict[str, Any] = {"state": state, "context": context, "description": description}
        if target_url:
            data["target_url"] = target_url
        self._content()
        # `state` is a plain str here (GitHub validates it); githubkit wants its Literal
        self._gh.rest.repos.create_commit_status(repo.owner, repo.name, sha, data=data)

    def find_check_run(self, repo: Repo, sha: str, name: str, external_id: str) -> int | None:
        """The id of our check run ``name`` on ``sha`` tagged ``external_id``, if it exists."""
        found = self._gh.rest.checks.list_for_ref(
            repo.owner, repo.name, sha, check_name=name, filter_="all", per_page=PAGE_SIZE
        ).json()
        for run in found.get("check_runs", []):
            if run.get("external_id") == external_id:
                return int(run["id"])
        return None

    def create_check_run(
        self, repo: Repo, *, name: str, head_sha: str, external_id: str, **fields: Any
    ) -> int:
        """Create a check run once (``external_id`` identifies it); returns its id."""
        data = {"name": name, "head_sha": head_sha, "external_id": external_id, **fields}

        def create() -> int:
            self._content()
            # `fields` are the check run's other fields as GitHub takes them, untyped; GitHub validates them
            response = self._gh.rest.checks.create(repo.owner, repo.name, data=data)
            return int(response.json()["id"])

        return create_once(create, lambda: self.find_check_run(repo, head_sha, name, external_id))

    def update_check_run(self, repo: Repo, check_run_id: int, **fields: Any) -> None:
        """PATCH a check run (idempotent, retried by the transport)."""
        self._content()
        # `fields` are the check run's fields as GitHub takes them, untyped; GitHub validates them
        self._gh.rest.checks.update(repo.owner, repo.name, check_run_id, data=fields)

    def find_comment(self, repo: Repo, number: int, marker: str) -> dict[str, Any] | None:
        """The first comment by a bot on issue/PR ``number`` whose body contains ``marker``
        (a person quoting the marker never takes over the sticky comment)."""
        page = 1
        while True:
            comments = _json(self._gh.rest.issues.list_comments(
                repo.owner, repo.name, number, per_page=PAGE_SIZE, page=page
            ))
            for comment in comments:
                by_bot = (comment.get("user") or {}).get("type") == "Bot"
                if by_bot and marker in (comment.get("body") or ""):
                    return comment
            if len(comments) < PAGE_SIZE:
                return None
            page += 1

    def upsert_comment(
        self, repo: Repo, number: int, marker: str, body: str | Callable[[str | None], str]
    ) -> int:
        """Edit the comment carrying ``marker`` (or create it once); returns its id.

        ``body`` may be a function of the existing comment's body (None when there is none),
        so a caller can fold the previous content in with a single lookup.
        """
        existing = self.find_comment(repo, number, marker)
        text = body(existing["body"] if existing else None) if callable(body) else body
        if marker not in text:
            text = f"{marker}\n{text}"
        if existing is not None:
            try:
                self._content()
                self._gh.rest.issues.update_comment(repo.owner, repo.name, int(existing["id"]),
                                                    data={"body": text})
                return int(existing["id"])
            except RequestFailed as exc:
                if exc.response.status_code != 404:  # deleted by someone meanwhile: make a new one
                    raise

        def create() -> int:
            self._content()
            return int(
                self._gh.rest.issues.create_comment(repo.owner, repo.name, number, data={"body": text})
                .json()["id"]
            )

        def find() -> int | None:
            found = self.find_comment(repo, number, marker)
            return int(found["id"]) if found else None

        return create_once(create, find)

    def create_comment(self, repo: Repo, number: int, body: str) -> int:
        """Post a plain (non-sticky) comment on issue/PR ``number``; returns its id.

        Unlike the sticky comment it carries no marker to look for, so it is not retried
        after an ambiguous failure (a lost reply beats a doubled one)."""
        self._content()
        response = self._gh.rest.issues.create_comment(repo.owner, repo.name, number, data={"body": body})
        return int(response.json()["id"])

    def create_deployment(
        self, repo: Repo, ref: str, *, environment: str, payload: dict[str, Any], description: str
    ) -> int:
        """Record a deployment of ``ref`` (a SHA) to ``environment``; returns its id.

        ``auto_merge`` and ``required_contexts`` are off: the merge commit is already on the
        default branch and its checks were judged by the pipeline itself.
        """
        self._content()
        response = self._gh.rest.repos.create_deployment(repo.owner, repo.name, data={
            "ref": ref, "environment": environment, "payload": payload, "description": description,
            "auto_merge": False, "required_contexts": [],
            "production_environment": environment == "production",
        })
        return int(response.json()["id"])

    def set_deployment_status(
        self, repo: Repo, deployment_id: int, state: str, *, description: str,
        environment_url: str | None = None, log_url: str | None = None,
    ) -> None:
        """Add a deployment status: in_progress, success, failure, error, inactive, ..."""
        data: dict[str, Any] = {"state": state, "description": description[:STATUS_DESCRIPTION_MAX]}
        if environment_url:
            data["environment_url"] = environment_url
        if log_url:
            data["log_url"] = log_url
        self._content()
        # `state` is a plain str here (GitHub validates it); githubkit wants its Literal
        self._gh.rest.repos.create_deployment_status(
            repo.owner, repo.name, deployment_id, data=data
        )

    def react(self, repo: Repo, comment_id: int, content: str) -> None:
        """Add a reaction to an issue comment (GitHub answers 200 if it is already there)."""
        self._content()
        # `content` is a plain str here (GitHub validates it); githubkit wants its Literal
        self._gh.rest.reactions.create_for_issue_comment(
            repo.owner, repo.name, comment_id, data={"content": content}
        )

    def permission(self, repo: Repo, user: str) -> str:
        """The user's role on the repo: admin, maintain, write, triage, read or none.

        Answered from the shared cache while fresh (60 s by default); see ``forget_permission``.
        """
        if self.permissions is not None:
            cached = self.permissions.get(repo, user)
            if cached is not None:
                return cached
        role = self._fetch_permission(repo, user)
        if self.permissions is not None:
            self.permissions.put(repo, user, role)
        return role

    def forget_permission(self, repo: Repo, user: str | None = None) -> None:
        """Drop the cached role of ``user`` on ``repo`` (every user's when None)."""
        if self.permissions is not None:
            self.permissions.forget(repo, user)

    def _fetch_permission(self, repo: Repo, user: str) -> str:
        """GET the collaborator permission (404 → "none")."""
        try:
            data = self._gh.rest.repos.get_collaborator_permission_level(repo.owner, repo.name, user).json()
        except RequestFailed as exc:
            if exc.response.status_code == 404:
                return "none"
            raise
        return str(data.get("role_name") or data.get("permission") or "none")

    def get_file(self, repo: Repo, path: str, ref: str) -> bytes | None:
        """Raw bytes of ``path`` at ``ref``, or None when it does not exist."""
        try:
            response = self._gh.rest.repos.get_content(
                repo.owner, repo.name, path, ref=ref, headers={"Accept": "application/vnd.github.raw+json"}
            )
        except RequestFailed as exc:
            if exc.response.status_code == 404:
                return None
            raise
        return response.content

    def download_tarball(self, repo: Repo, ref: str) -> bytes:
        """The gzip tarball of the tree at ``ref`` (GitHub redirects to codeload)."""
        return self._gh.rest.repos.download_tarball_archive(repo.owner, repo.name, ref).content

    def branch_protection(self, repo: Repo, branch: str) -> dict[str, Any]:
        """The branch's protection rules as GitHub shows them (``administration: read``)."""
        return _json(self._gh.rest.repos.get_branch_protection(repo.owner, repo.name, branch))

    def replace_branch_protection(self, repo: Repo, branch: str, rules: dict[str, Any]) -> dict[str, Any]:
        """Replace every protection rule of the branch (``administration: write``); githubkit checks the
        body's shape before it is sent."""
        return _json(self._gh.rest.repos.update_branch_protection(repo.owner, repo.name, branch, data=rules))
