"""Builders and a fake clock shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import IncomingDelivery, JobRequest

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40
REPO = "octo/models"


class Clock:
    """A settable UTC clock: pass ``clock`` as a store's ``now``."""

    def __init__(self, start: datetime = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new time."""
        self.current += timedelta(seconds=seconds)
        return self.current


def job(
    pr: int | None = 1,
    sha: str | None = SHA_A,
    kind: str = "staging",
    repository: str = REPO,
    **details: Any,
) -> JobRequest:
    """A job for ``repository`` PR ``pr`` at ``sha``."""
    trigger = "pull_request.merged" if kind == "production" else "pull_request.synchronize"
    return JobRequest(kind, repository, 42, pr, sha, trigger, details)  # type: ignore[arg-type]


def delivery(guid: str, with_job: JobRequest | None = None) -> IncomingDelivery:
    """A delivery; ``accepted`` with ``with_job``, else ``ignored``."""
    return IncomingDelivery(
        guid=guid,
        event="pull_request",
        action="synchronize" if with_job else "labeled",
        installation_id=42,
        repository=REPO,
        outcome="accepted" if with_job else "ignored",
        summary={"pr": with_job.pr_number if with_job else 7},
        job=with_job,
    )
