"""One-off calls an operator's command makes: turning a manifest code into an App, and reading or
replacing a branch's protection as the App. GitHub's refusals come out as ``GitHubRefused`` with its
status and message, so the commands can explain them without knowing githubkit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
from githubkit import GitHub, UnauthAuthStrategy
from githubkit.exception import RequestError, RequestFailed

from bot.github.api import InstallationAPI, Repo
from bot.github.app import GitHubApp

NOT_PROTECTED = "Branch not protected"


class GitHubRefused(Exception):
    """GitHub answered an error (``status`` 0: it could not be reached); ``message`` is its own word."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}" if status else message)
        self.status = status
        self.message = message


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Turn githubkit's request errors into ``GitHubRefused``."""
    try:
        yield
    except RequestFailed as exc:
        raise GitHubRefused(exc.response.status_code, _message(exc.response.raw_response)) from None
    except RequestError as exc:
        raise GitHubRefused(0, f"cannot reach GitHub: {exc.exc}") from None


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.reason_phrase)
    except ValueError:
        return response.reason_phrase


def convert_manifest(api_url: str, code: str) -> dict[str, Any]:
    """``POST /app-manifests/{code}/conversions`` (no authentication): the new App with its ``pem``,
    ``webhook_secret`` and ``client_secret``. GitHubRefused 404 for a used, expired or unknown code."""
    github = GitHub(UnauthAuthStrategy(), base_url=api_url.rstrip("/") + "/", user_agent="modelgate",
                    auto_retry=False)
    with refusals():
        response = github.rest.apps.create_from_manifest(code)
    data: dict[str, Any] = response.raw_response.json()
    return data


def repository_api(app: GitHubApp, repo: Repo) -> InstallationAPI:
    """The App's client for ``repo``'s installation (GitHubRefused 404: the App is not installed there)."""
    with refusals():
        return app.for_repository(str(repo), None)


def current_protection(api: InstallationAPI, repo: Repo, branch: str) -> dict[str, Any] | None:
    """The branch's protection as GitHub shows it, or None when the branch is not protected."""
    try:
        with refusals():
            return api.branch_protection(repo, branch)
    except GitHubRefused as refused:
        if refused.status == 404 and refused.message == NOT_PROTECTED:
            return None
        raise


def replace_protection(api: InstallationAPI, repo: Repo, branch: str,
                       rules: dict[str, Any]) -> dict[str, Any]:
    """Replace the branch's protection with ``rules`` (a ``PUT`` body)."""
    with refusals():
        return api.replace_branch_protection(repo, branch, rules)
