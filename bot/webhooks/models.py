"""Tolerant models of the webhook payloads modelgate reads.

Only the fields we use are declared; unknown keys are ignored and anything GitHub may omit
is optional, because strict schemas reject real deliveries (docs examples, GHES payloads).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Tolerant):
    login: str
    id: int | None = None
    type: str | None = None


class Installation(_Tolerant):
    id: int
    account: Account | None = None


class Repository(_Tolerant):
    full_name: str
    name: str | None = None
    default_branch: str | None = None
    fork: bool = False
    owner: Account | None = None


class RepoStub(_Tolerant):
    """A repository as nested in refs; short forms (check runs) carry only id, url, name."""

    id: int | None = None
    name: str | None = None
    full_name: str | None = None
    default_branch: str | None = None
    fork: bool = False


class App(_Tolerant):
    id: int
    slug: str | None = None


class Ref(_Tolerant):
    ref: str
    sha: str
    repo: RepoStub | None = None


class PullRequest(_Tolerant):
    number: int
    state: str = "open"
    draft: bool | None = False
    merged: bool | None = None
    merge_commit_sha: str | None = None
    head: Ref
    base: Ref
    user: Account | None = None
    author_association: str | None = None


class PullRequestStub(_Tolerant):
    """The short PR objects listed on check runs and check suites."""

    number: int
    head: Ref | None = None
    base: Ref | None = None


class Issue(_Tolerant):
    number: int
    state: str | None = None
    pull_request: dict[str, Any] | None = None
    body: str | None = None
    user: Account | None = None
    updated_at: datetime | None = None


class Comment(_Tolerant):
    id: int
    body: str | None = ""
    node_id: str | None = None
    user: Account | None = None
    author_association: str | None = None
    created_at: datetime | None = None


class CheckSuite(_Tolerant):
    id: int
    head_sha: str | None = None
    head_branch: str | None = None
    app: App | None = None
    pull_requests: list[PullRequestStub] = []


class CheckRun(_Tolerant):
    id: int
    name: str | None = None
    head_sha: str
    external_id: str | None = None
    app: App | None = None
    check_suite: CheckSuite | None = None
    pull_requests: list[PullRequestStub] = []


class RequestedAction(_Tolerant):
    identifier: str


class Envelope(_Tolerant):
    """What every event may carry."""

    action: str | None = None
    installation: Installation | None = None
    repository: Repository | None = None
    sender: Account | None = None


class PullRequestEvent(Envelope):
    number: int | None = None
    pull_request: PullRequest


class PushEvent(Envelope):
    ref: str
    before: str | None = None
    after: str | None = None
    created: bool = False
    deleted: bool = False
    forced: bool = False


class IssueCommentEvent(Envelope):
    issue: Issue
    comment: Comment


class BodyChange(_Tolerant):
    """``changes.body`` of an edit: the body before it."""

    from_: str | None = Field(None, alias="from")


class IssueChanges(_Tolerant):
    body: BodyChange | None = None


class IssuesEvent(Envelope):
    issue: Issue
    changes: IssueChanges | None = None


class InstallationEvent(Envelope):
    """``installation`` (created, deleted, ...): the repositories it covers, when GitHub lists them."""

    repositories: list[RepoStub] | None = None


class InstallationRepositoriesEvent(Envelope):
    repositories_added: list[RepoStub] = []
    repositories_removed: list[RepoStub] = []


class CheckRunEvent(Envelope):
    check_run: CheckRun
    requested_action: RequestedAction | None = None


class CheckSuiteEvent(Envelope):
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
