"""GitHub-shaped error responses (``{"message", "documentation_url"}``) and injected faults."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import JSONResponse

DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
FAULT_STATUSES = frozenset({403, 429, 500, 502, 503})


class GitHubError(Exception):
    """Raised by a handler; becomes a JSON error response."""

    def __init__(self, status: int, message: str, *, errors: list[Any] | None = None,
                 headers: dict[str, str] | None = None, documentation_url: str = DOCS,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": documentation_url}
        if errors is not None:
            self.body["errors"] = errors
        if status in (409, 422):
            self.body["status"] = str(status)
        self.body.update(extra or {})
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """The HTTP response GitHub would send."""
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def not_found() -> GitHubError:
    """GitHub's 404 for anything unknown or invisible."""
    return GitHubError(404, "Not Found")


def bad_credentials() -> GitHubError:
    """401 for a missing, unknown or expired installation token."""
    return GitHubError(401, "Bad credentials")


def bad_jwt() -> GitHubError:
    """401 for a missing or invalid App JWT."""
    return GitHubError(401, "A JSON web token could not be decoded")


def invalid(detail: str) -> GitHubError:
    """422 for a body that breaks the operation's schema (GitHub's "Invalid request." form)."""
    return GitHubError(422, f"Invalid request.\n\n{detail}")


def validation_failed(resource: str, field: str, code: str = "invalid",
                      message: str | None = None) -> GitHubError:
    """422 "Validation Failed" with one entry in ``errors``."""
    entry: dict[str, Any] = {"resource": resource, "code": code, "field": field}
    if message:
        entry["message"] = message
    return GitHubError(422, "Validation Failed", errors=[entry])


def fault_error(status: int, retry_after: int, request_id: str) -> GitHubError:
    """The failure GitHub answers with for an injected fault of ``status``."""
    reset = str(int(time.time()) + retry_after)
    if status == 429:
        headers = {"Retry-After": str(retry_after), "x-ratelimit-limit": "5000",
                   "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
                   "x-ratelimit-reset": reset, "x-ratelimit-resource": "core"}
        return GitHubError(429, "API rate limit exceeded for installation.", headers=headers,
                           documentation_url=RATE_LIMIT_DOCS)
    if status == 403:
        headers = {"Retry-After": str(retry_after), "x-ratelimit-limit": "5000",
                   "x-ratelimit-remaining": "4999", "x-ratelimit-used": "1",
                   "x-ratelimit-reset": reset, "x-ratelimit-resource": "core"}
        return GitHubError(403, SECONDARY_MESSAGE.format(request_id=request_id), headers=headers,
                           documentation_url=RATE_LIMIT_DOCS + "#about-secondary-rate-limits")
    error = GitHubError(status, "Server Error")
    error.body = {"message": "Server Error"}
    return error


def parse_json_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; GitHub's 400 "Problems parsing JSON" otherwise."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise GitHubError(400, "Problems parsing JSON") from None
    if not isinstance(body, dict):
        raise GitHubError(400, "Problems parsing JSON")
    return body
