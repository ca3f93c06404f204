"""Tolerant models of the webhook payloads modelgate reads.

Only the fields we use are declared; unknown keys are ignored and anything GitHub may omit
is optional, because strict schemas reject real deliveries (docs examples, GHES payloads).

They are msgspec structs: decoding a 23 KB delivery into them skips what they do not declare and took
13 µs against pydantic's 30 on the webhook's hot path (bench/README.md). ``bot.webhooks.routing.parse``
decodes with ``strict=False`` (numbers and booleans sent as strings are read as such).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class _Tolerant(msgspec.Struct, frozen=True, kw_only=True):
    """Unknown keys are ignored (msgspec's default). Every model is ``kw_only`` (not inherited in msgspec):
    a required field may follow optional ones."""


class Account(_Tolerant, frozen=True, kw_only=True):
    login: str
    id: int | None = None
    type: str | None = None


class Installation(_Tolerant, frozen=True, kw_only=True):
    id: int
    account: Account | None = None


class Repository(_Tolerant, frozen=True, kw_only=True):
    full_name: str
    name: str | None = None
    default_branch: str | None = None
    fork: bool = False
    owner: Account | None = None


class RepoStub(_Tolerant, frozen=True, kw_only=True):
    """A repository as nested in refs; short forms (check runs) carry only id, url, name."""

    id: int | None = None
    name: str | None = None
    full_name: str | None = None
    default_branch: str | None = None
    fork: bool = False


class App(_Tolerant, frozen=True, kw_only=True):
    id: int
    slug: str | None = None


class Ref(_Tolerant, frozen=True, kw_only=True):
    ref: str
    sha: str
    repo: RepoStub | None = None


class PullRequest(_Tolerant, frozen=True, kw_only=True):
    number: int
    state: str = "open"
    draft: bool | None = False
    merged: bool | None = None
    merge_commit_sha: str | None = None
    head: Ref
    base: Ref
    user: Account | None = None
    author_association: str | None = None


class PullRequestStub(_Tolerant, frozen=True, kw_only=True):
    """The short PR objects listed on check runs and check suites."""

    number: int
    head: Ref | None = None
    base: Ref | None = None


class Issue(_Tolerant, frozen=True, kw_only=True):
    number: int
    state: str | None = None
    pull_request: dict[str, Any] | None = None
    body: str | None = None
    user: Account | None = None
    updated_at: datetime | None = None


class Comment(_Tolerant, frozen=True, kw_only=True):
    id: int
    body: str | None = ""
    node_id: str | None = None
    user: Account | None = None
    author_association: str | None = None
    created_at: datetime | None = None


class CheckSuite(_Tolerant, frozen=True, kw_only=True):
    id: int
    head_sha: str | None = None
    head_branch: str | None = None
    app: App | None = None
    pull_requests: list[PullRequestStub] = []


class CheckRun(_Tolerant, frozen=True, kw_only=True):
    id: int
    name: str | None = None
    head_sha: str
    external_id: str | None = None
    app: App | None = None
    check_suite: CheckSuite | None = None
    pull_requests: list[PullRequestStub] = []


class RequestedAction(_Tolerant, frozen=True, kw_only=True):
    identifier: str


class Envelope(_Tolerant, frozen=True, kw_only=True):
    """What every event may carry."""

    action: str | None = None
    installation: Installation | None = None
    repository: Repository | None = None
    sender: Account | None = None


class PullRequestEvent(Envelope, frozen=True, kw_only=True):
    number: int | None = None
    pull_request: PullRequest


class PushEvent(Envelope, frozen=True, kw_only=True):
    ref: str
    before: str | None = None
    after: str | None = None
    created: bool = False
    deleted: bool = False
    forced: bool = False


class IssueCommentEvent(Envelope, frozen=True, kw_only=True):
    issue: Issue
    comment: Comment


class BodyChange(_Tolerant, frozen=True, kw_only=True):
    """``changes.body`` of an edit: the body before it."""

    from_: str | None = msgspec.field(default=None, name="from")


class IssueChanges(_Tolerant, frozen=True, kw_only=True):
    body: BodyChange | None = None


class IssuesEvent(Envelope, frozen=True, kw_only=True):
    issue: Issue
    changes: IssueChanges | None = None


class InstallationEvent(Envelope, frozen=True, kw_only=True):
    """``installation`` (created, deleted, ...): the repositories it covers, when GitHub lists them."""

    repositories: list[RepoStub] | None = None


class InstallationRepositoriesEvent(Envelope, frozen=True, kw_only=True):
    repositories_added: list[RepoStub] = []
    repositories_removed: list[RepoStub] = []


class CheckRunEvent(Envelope, frozen=True, kw_only=True):
    check_run: CheckRun
    requested_action: RequestedAction | None = None


class CheckSuiteEvent(Envelope, frozen=True, kw_only=True):
    check_suite: CheckSuite


EVENT_MODELS: dict[str, type[Envelope]] = {
    "pull_request": PullRequestEvent,
    "push": PushEvent,
    "issue_comment": IssueCommentEvent,
    "check_run": CheckRunEvent,
    "check_suite": CheckSuiteEvent,
    "issues": IssuesEvent,
    "installation": InstallationEvent,
    "installation_repositories": InstallationRepositoriesEvent,
}


def model_for(event: str) -> type[Envelope]:
    """The payload model for an event name; unknown events parse as a bare Envelope."""
    return EVENT_MODELS.get(event, Envelope)
