"""Plain records the sandbox keeps in memory (no behaviour beyond tiny helpers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    """A GitHub account; ``type`` is ``User``, ``Bot`` or ``Organization``."""

    login: str
    id: int
    type: str = "User"


@dataclass
class Commit:
    """A snapshot of a whole tree (relpath → bytes) with at most one parent."""

    sha: str
    tree: dict[str, bytes]
    parent: str | None
    message: str
    author: str
    timestamp: str


@dataclass
class Protection:
    """A protected branch's rules, as its REST ``PUT`` last set them. ``checks`` are the required status
    checks as ``(context, app_id)`` (``app_id`` None: any source); ``flags`` the boolean settings
    (``required_linear_history``, ``allow_force_pushes``, ...); ``reviews``/``restrictions`` the PUT's
    objects as given (kept and shown, not enforced: the stand-in has no reviews nor pushes by users)."""

    checks: list[tuple[str, int | None]] = field(default_factory=list)
    strict: bool = False
    status_checks: bool = True  # False: ``required_status_checks`` is null
    enforce_admins: bool = False
    reviews: dict[str, Any] | None = None
    restrictions: dict[str, Any] | None = None
    flags: dict[str, bool] = field(default_factory=dict)

    @property
    def contexts(self) -> list[str]:
        """The contexts that must pass before a merge."""
        return [context for context, _ in self.checks] if self.status_checks else []


@dataclass
class Repo:
    """A repository: branches point at commit shas (commits live in the sandbox-wide store)."""

    owner: str
    name: str
    id: int
    default_branch: str
    created_at: str
    pushed_at: str
    branches: dict[str, str] = field(default_factory=dict)
    fork_of: str | None = None  # key of the parent repository
    collaborators: dict[str, str] = field(default_factory=dict)  # login → role
    protection: dict[str, Protection] = field(default_factory=dict)  # branch → its rules
    next_number: int = 1

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"

    @property
    def key(self) -> str:
        """Case-insensitive lookup key, as GitHub treats names."""
        return self.full_name.lower()


@dataclass
class PullInfo:
    """The pull-request half of an issue."""

    id: int
    head_repo: str  # repo key
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Issue:
    """An issue or, when ``pull`` is set, a pull request (they share numbers)."""

    repo: str  # repo key
    number: int
    id: int
    title: str
    body: str | None
    user: str
    created_at: str
    updated_at: str
    author_association: str
    state: str = "open"
    closed_at: str | None = None
    pull: PullInfo | None = None


@dataclass
class Comment:
    """An issue comment; ``via_app`` when written with an installation token."""

    id: int
    repo: str
    issue_number: int
    body: str
    user: str
    created_at: str
    updated_at: str
    author_association: str
    via_app: bool = False


@dataclass
class Reaction:
    """A reaction on an issue comment."""

    id: int
    comment_id: int
    user: str
    content: str
    created_at: str


@dataclass
class CommitStatus:
    """One commit status (the latest per context wins)."""

    id: int
    repo: str
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str
    app_id: int | None = None  # the App whose token set it


@dataclass
class CheckRun:
    """A check run created by the App."""

    id: int
    repo: str
    name: str
    head_sha: str
    suite_id: int
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    external_id: str | None
    details_url: str | None
    output: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    annotations_count: int = 0
    summaries: list[str] = field(default_factory=list)  # every output.summary written (GitHub keeps the last)
    app_id: int | None = None  # the App that created it


@dataclass
class Deployment:
    """A deployment of a commit to an environment."""

    id: int
    repo: str
    sha: str
    ref: str
    task: str
    payload: Any
    environment: str
    description: str | None
    creator: str
    created_at: str
    transient_environment: bool
    production_environment: bool
    via_app: bool


@dataclass
class DeploymentStatus:
    """One status of a deployment."""

    id: int
    deployment_id: int
    state: str
    creator: str
    description: str
    environment: str
    target_url: str
    log_url: str
    environment_url: str
    created_at: str
    via_app: bool


@dataclass
class Fault:
    """An injected failure for the next ``remaining`` calls of one operation."""

    status: int
    remaining: int
    retry_after: int = 1
