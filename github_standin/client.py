"""A small synchronous client for the sandbox control API (tests, the offline demo)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import httpx


class SandboxError(Exception):
    """A control call answered with an error status; ``status`` and ``body`` say which."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"sandbox answered {status}: {body}")
        self.status = status
        self.body = body


_TLS = httpx.create_ssl_context()  # loaded once for every client, not once per client


class SandboxClient:
    """Wraps ``/_sandbox/*``; each method returns the JSON answer (with ``deliveries``)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + "/_sandbox", timeout=timeout,
                                  trust_env=False, verify=_TLS)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        data = response.json() if response.content else {}
        if response.status_code >= 400:
            raise SandboxError(response.status_code, data)
        return data

    def create_repo(self, owner: str, name: str, *, path: str | Path | None = None,
                    files: dict[str, str] | None = None, default_branch: str = "main",
                    push: bool = True) -> Any:
        """A repository whose first commit holds ``path``'s files and/or ``files``; ``push`` False: no
        ``push`` webhook (a repository that existed before the App was installed on it)."""
        body: dict[str, Any] = {"owner": owner, "name": name, "default_branch": default_branch,
                                "files": files or {}, "push": push}
        if path is not None:
            body["path"] = str(path)
        return self._call("POST", "/repos", body)

    def commit(self, owner: str, repo: str, files: dict[str, str | None] | None = None, *,
               branch: str | None = None, message: str = "Update files",
               author: str | None = None, path: str | Path | None = None) -> Any:
        """Commit ``files`` (None deletes) on ``branch`` (default branch if None); with
        ``path`` the new tree is that directory's files plus ``files``."""
        body = {"files": files or {}, "message": message, "branch": branch, "author": author,
                "path": str(path) if path is not None else None}
        return self._call("POST", f"/repos/{owner}/{repo}/commits", _compact(body))

    def fork(self, owner: str, repo: str, new_owner: str) -> Any:
        """Fork ``owner/repo`` to ``new_owner/repo``."""
        return self._call("POST", f"/repos/{owner}/{repo}/forks", {"owner": new_owner})

    def open_pull(self, owner: str, repo: str, head: str, *, base: str | None = None,
                  title: str | None = None, body: str | None = None, author: str | None = None,
                  fork: bool = False, draft: bool = False) -> Any:
        """Open a pull request (``head`` may be ``user:branch``); sends ``pull_request.opened``."""
        payload = {"head": head, "base": base, "title": title, "body": body, "author": author,
                   "fork": fork, "draft": draft}
        return self._call("POST", f"/repos/{owner}/{repo}/pulls", _compact(payload))

    def create_issue(self, owner: str, repo: str, title: str, *, body: str | None = None,
                     author: str | None = None) -> Any:
        """Open a plain issue."""
        return self._call("POST", f"/repos/{owner}/{repo}/issues",
                          _compact({"title": title, "body": body, "author": author}))

    def edit_issue(self, owner: str, repo: str, number: int, body: str, *, author: str | None = None) -> Any:
        """A person replaces an issue's body (e.g. ticks a checkbox): ``issues.edited``."""
        return self._call("PATCH", f"/repos/{owner}/{repo}/issues/{number}",
                          _compact({"body": body, "author": author}))

    def install(self, repositories: list[str] | None = None, *, author: str | None = None) -> Any:
        """The App is installed on ``repositories`` (default: all): ``installation.created``."""
        return self._call("POST", "/installation", _compact({"repositories": repositories, "author": author}))

    def add_repositories(self, repositories: list[str], *, author: str | None = None) -> Any:
        """Repositories added to the App's installation: ``installation_repositories.added``."""
        return self._call("POST", "/installation/repositories/add",
                          _compact({"repositories": repositories, "author": author}))

    def suspend(self, *, author: str | None = None) -> Any:
        """The App's installation is suspended: ``installation.suspend``."""
        return self._call("POST", "/installation/suspend", _compact({"author": author}))

    def unsuspend(self, *, author: str | None = None) -> Any:
        """The App's installation is unsuspended: ``installation.unsuspend``."""
        return self._call("POST", "/installation/unsuspend", _compact({"author": author}))

    def uninstall(self, *, author: str | None = None) -> Any:
        """The App is uninstalled: ``installation.deleted``."""
        return self._call("DELETE", "/installation", _compact({"author": author}))

    def remove_repositories(self, repositories: list[str], *, author: str | None = None) -> Any:
        """Repositories taken out of the App's installation: ``installation_repositories.removed``."""
        return self._call("POST", "/installation/repositories/remove",
                          _compact({"repositories": repositories, "author": author}))

    def comment(self, owner: str, repo: str, number: int, body: str, *,
                author: str | None = None) -> Any:
        """Comment as a user; sends ``issue_comment.created``."""
        return self._call("POST", f"/repos/{owner}/{repo}/issues/{number}/comments",
                          _compact({"body": body, "author": author}))

    def merge(self, owner: str, repo: str, number: int, *, author: str | None = None) -> Any:
        """Merge as a user (SandboxError 405 while branch protection blocks)."""
        return self._call("POST", f"/repos/{owner}/{repo}/pulls/{number}/merge",
                          _compact({"author": author}))

    def set_permission(self, owner: str, repo: str, user: str, permission: str) -> Any:
        """Make ``user`` a collaborator with ``permission`` (``none`` removes)."""
        return self._call("PUT", f"/repos/{owner}/{repo}/collaborators/{user}",
                          {"permission": permission})

    def rerun_check(self, owner: str, repo: str, check_run_id: int, user: str) -> Any:
        """Press "Re-run" on a completed check run as ``user`` (SandboxError 403 without write
        access); sends ``check_run.rerequested``."""
        return self._call("POST", f"/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest",
                          {"user": user})

    def request_check_action(self, owner: str, repo: str, check_run_id: int, identifier: str,
                             user: str) -> Any:
        """Press the check run's action button ``identifier`` as ``user`` (422 when the check
        run does not offer it); sends ``check_run.requested_action``."""
        return self._call("POST", f"/repos/{owner}/{repo}/check-runs/{check_run_id}/requested-action",
                          {"identifier": identifier, "user": user})

    def rerun_check_suite(self, owner: str, repo: str, check_suite_id: int, user: str) -> Any:
        """Press "Re-run all checks" of the App's check suite as ``user``; sends
        ``check_suite.rerequested``."""
        return self._call("POST", f"/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest",
                          {"user": user})

    def set_protection(self, owner: str, repo: str, required_contexts: list[str], *,
                       branch: str | None = None) -> Any:
        """Set the contexts that must be green before merging into ``branch``."""
        return self._call("PUT", f"/repos/{owner}/{repo}/protection",
                          _compact({"required_contexts": required_contexts, "branch": branch}))

    def add_fault(self, operation: str, status: int, count: int = 1,
                  retry_after: int = 1) -> Any:
        """Make the next ``count`` calls of ``operation`` (an operationId) fail with ``status``."""
        return self._call("POST", "/faults", {"operation": operation, "status": status,
                                              "count": count, "retry_after": retry_after})

    def manifest_code(self, manifest: dict[str, Any], *, owner: str | None = None) -> str:
        """A one-time code for ``POST /app-manifests/{code}/conversions``, as if ``owner`` (default: the
        configured App's owner) had confirmed ``manifest`` on GitHub's page."""
        body = _compact({"manifest": manifest, "owner": owner})
        return str(self._call("POST", "/app-manifests", body)["code"])

    def set_webhook_url(self, url: str | None) -> Any:
        """Send webhooks to ``url`` from now on (None: record them as undeliverable)."""
        return self._call("PUT", "/config", {"webhook_url": url})

    def redeliver(self, guid: str) -> Any:
        """Send delivery ``guid`` again with the same GUID and bytes, as GitHub's Redeliver."""
        return self._call("POST", f"/deliveries/{guid}/redeliver")

    def state(self, only: str | None = None) -> Any:
        """Everything the sandbox holds; ``only`` (e.g. ``"statuses"``): just those parts."""
        return self._call("GET", "/state" if only is None else f"/state?only={only}")

    def reset(self) -> Any:
        """Forget repositories, activity, faults and logs."""
        return self._call("POST", "/reset")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _compact(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
