"""Narrow views of the installation client: each handler and writer declares only the GitHub calls
it makes (as Prow's plugins declare their own client interface), so a reader sees at a glance what
a piece of code can do on GitHub, and ``InstallationAPI`` satisfies them all structurally."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from bot.github.api import Repo

ClientT_co = TypeVar("ClientT_co", covariant=True)


class ClientFactory(Protocol[ClientT_co]):
    """Gives the client of one repository's installation (``GitHubApp`` is one)."""

    def for_repository(self, full_name: str, installation_id: int | None) -> ClientT_co: ...


class ConfigReader(Protocol):
    """Reads one file of a commit (``.modelgate.yml``)."""

    def get_file(self, repo: Repo, path: str, ref: str) -> bytes | None: ...


class SourceReader(Protocol):
    """Downloads a commit's tree."""

    def download_tarball(self, repo: Repo, ref: str) -> bytes: ...


class PullReader(Protocol):
    """Refetches a pull request."""

    def get_pull(self, repo: Repo, number: int) -> dict[str, Any]: ...


class CheckWriter(Protocol):
    """Writes a run's check run and commit status."""

    def create_check_run(self, repo: Repo, *, name: str, head_sha: str, external_id: str,
                         **fields: Any) -> int: ...

    def update_check_run(self, repo: Repo, check_run_id: int, **fields: Any) -> None: ...

    def set_status(self, repo: Repo, sha: str, *, state: str, context: str, description: str,
                   target_url: str | None = None) -> None: ...

    def has_content_room(self) -> bool: ...


class CommentWriter(Protocol):
    """Creates or edits the sticky comment of a PR."""

    def upsert_comment(self, repo: Repo, number: int, marker: str,
                       body: str | Callable[[str | None], str]) -> int: ...


class Replier(Protocol):
    """Answers on a PR: reactions on a comment and plain replies."""

    def react(self, repo: Repo, comment_id: int, content: str) -> None: ...

    def create_comment(self, repo: Repo, number: int, body: str) -> int: ...


class PermissionReader(Protocol):
    """A user's role on a repository."""

    def permission(self, repo: Repo, user: str) -> str: ...


class DeploymentWriter(Protocol):
    """Records GitHub Deployments and their statuses."""

    def create_deployment(self, repo: Repo, ref: str, *, environment: str, payload: dict[str, Any],
                          description: str) -> int: ...

    def set_deployment_status(self, repo: Repo, deployment_id: int, state: str, *, description: str,
                              environment_url: str | None = None, log_url: str | None = None) -> None: ...


class CommitPulls(Protocol):
    """The pull requests a commit belongs to."""

    def pulls_for_commit(self, repo: Repo, sha: str) -> list[dict[str, Any]]: ...


class ProvenanceReader(Protocol):
    """Where a commit comes from, as GitHub says: the pull request that merged it, or whether it is
    on the default branch."""

    def find_pull(self, repo: Repo, number: int) -> dict[str, Any] | None: ...

    def get_repository(self, repo: Repo) -> dict[str, Any]: ...

    def compare_commits(self, repo: Repo, base: str, head: str) -> dict[str, Any] | None: ...


class BranchReader(Protocol):
    """The repository and the head commit of a branch (a scheduled run's commit)."""

    def get_repository(self, repo: Repo) -> dict[str, Any]: ...

    def branch_head(self, repo: Repo, branch: str) -> str | None: ...


class IssueEditor(Protocol):
    """Reads an issue and rewrites its body (unticking the dashboard's checkbox)."""

    def get_issue(self, repo: Repo, number: int) -> dict[str, Any] | None: ...

    def edit_issue(self, repo: Repo, number: int, body: str, state: str | None = None) -> None: ...


class DashboardClient(IssueEditor, Protocol):
    """Keeps the repository's dashboard issue (found by its marker) and reads its open pull requests."""

    def find_issue(self, repo: Repo, marker: str) -> dict[str, Any] | None: ...

    def create_issue(self, repo: Repo, title: str, body: str) -> int: ...

    def open_pulls(self, repo: Repo) -> list[dict[str, Any]]: ...


class InstallationLister(Protocol):
    """The repositories an installation reaches."""

    def installation_repositories(self) -> list[str]: ...


class AcknowledgerClient(CheckWriter, IssueEditor, Protocol):
    """What the acknowledger does on GitHub: "queued" check runs and statuses, and unticking a dashboard's
    checkbox."""


class StagingClient(PullReader, ConfigReader, SourceReader, CheckWriter, CommentWriter, DashboardClient,
                    Protocol):
    """What a staging run does on GitHub: its verdict shows on the dashboard issue too."""


class InstallClient(ConfigReader, BranchReader, InstallationLister, DashboardClient, Protocol):
    """What an install run does on GitHub: read the repositories' default-branch configurations, keep their
    dashboards."""


class ProductionClient(PullReader, ConfigReader, SourceReader, CheckWriter, CommentWriter,
                       DeploymentWriter, CommitPulls, ProvenanceReader, BranchReader, PermissionReader,
                       DashboardClient, Protocol):
    """What a production run (and a scheduled one) does on GitHub: its dashboard issue too."""


class RollbackClient(ConfigReader, SourceReader, DeploymentWriter, Replier, Protocol):
    """What a rollback run does on GitHub."""


class CommandClient(PullReader, ConfigReader, Replier, PermissionReader, Protocol):
    """What a PR command run does on GitHub (the commands themselves queue runs in the store)."""
