"""GitHub calls of the repository's dashboard issue and what it shows: issues found by a marker, open pull
requests, and the head commit of a branch; and the repositories an installation reaches (whose schedules are
read when the App is installed). ``InstallationAPI`` mixes them in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from githubkit import GitHub
from githubkit.exception import RequestFailed

if TYPE_CHECKING:
    from bot.github.api import Repo

ISSUE_PAGE = 100
MAX_ISSUE_PAGES = 10  # the dashboard is among the bot's first thousand issues of the repository
MAX_REPOSITORY_PAGES = 100  # an installation's first ten thousand repositories


class IssueCalls:
    """Dashboard calls on one installation's client (``_gh``; ``_content`` waits for room to write)."""

    _gh: GitHub[Any]

    def _content(self) -> None: ...

    def branch_head(self, repo: Repo, branch: str) -> str | None:
        """The commit ``branch`` points at, or None when there is no such branch."""
        try:
            answer = self._gh.rest.repos.get_branch(repo.owner, repo.name, branch)
        except RequestFailed as exc:
            if exc.response.status_code == 404:
                return None
            raise
        return str(answer.raw_response.json()["commit"]["sha"])

    def open_pulls(self, repo: Repo) -> list[dict[str, Any]]:
        """The repository's open pull requests, newest first (the first hundred)."""
        answer = self._gh.rest.pulls.list(repo.owner, repo.name, state="open", per_page=ISSUE_PAGE)
        return list(answer.raw_response.json())

    def find_issue(self, repo: Repo, marker: str) -> dict[str, Any] | None:
        """The oldest issue (open or closed, not a pull request) opened by a bot whose body holds ``marker``:
        a person quoting the marker never takes it over."""
        for page in range(1, MAX_ISSUE_PAGES + 1):
            issues = self._gh.rest.issues.list_for_repo(
                repo.owner, repo.name, state="all", sort="created", direction="asc",
                per_page=ISSUE_PAGE, page=page).raw_response.json()
            for issue in issues:
                by_bot = (issue.get("user") or {}).get("type") == "Bot"
                if by_bot and "pull_request" not in issue and marker in (issue.get("body") or ""):
                    return dict(issue)
            if len(issues) < ISSUE_PAGE:
                return None
        return None

    def get_issue(self, repo: Repo, number: int) -> dict[str, Any] | None:
        """Issue ``number`` as GitHub returns it, or None when there is none."""
        try:
            return dict(self._gh.rest.issues.get(repo.owner, repo.name, number).raw_response.json())
        except RequestFailed as exc:
            if exc.response.status_code in (404, 410):
                return None
            raise

    def installation_repositories(self) -> list[str]:
        """The full names of the repositories this installation reaches (every page, one after the other)."""
        names: list[str] = []
        for page in range(1, MAX_REPOSITORY_PAGES + 1):
            answer = self._gh.rest.apps.list_repos_accessible_to_installation(per_page=ISSUE_PAGE, page=page)
            repositories = answer.raw_response.json().get("repositories") or []
            names += [str(r["full_name"]) for r in repositories if r.get("full_name")]
            if len(repositories) < ISSUE_PAGE:
                break
        return names

    def create_issue(self, repo: Repo, title: str, body: str) -> int:
        """Open an issue; its number."""
        self._content()
        answer = self._gh.rest.issues.create(repo.owner, repo.name, data={"title": title, "body": body})
        return int(answer.raw_response.json()["number"])

    def edit_issue(self, repo: Repo, number: int, body: str, state: str | None = None) -> None:
        """Replace the body of issue ``number`` (and set its ``state``, open or closed, when given)."""
        self._content()
        data: dict[str, Any] = {"body": body} if state is None else {"body": body, "state": state}
        self._gh.rest.issues.update(repo.owner, repo.name, number, data=data)
