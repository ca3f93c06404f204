"""The few calls of Ray's Jobs API modelgate makes, with its errors sorted into what they mean.

``ray`` is imported here, inside functions only: it is an optional extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# JobStatus values (ray.job_submission.JobStatus) that never change again
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


class Failure(StrEnum):
    """What a failed call to the Jobs API means for us."""

    EXISTS = "exists"  # submit: that submission id is taken (the job was submitted already)
    MISSING = "missing"  # the cluster does not know the job (it never had it, or lost it on a restart)
    UNREACHABLE = "unreachable"  # no answer, or an error that may pass (the head restarting)


def classify(exc: BaseException) -> Failure:
    """What ``exc`` (raised by a JobSubmissionClient call) means."""
    text = str(exc)
    if "already exists" in text:
        return Failure.EXISTS
    if "does not exist" in text or "status code 404" in text:
        return Failure.MISSING
    return Failure.UNREACHABLE


class JobsApiError(Exception):
    """A Jobs API call failed; ``failure`` says how."""

    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure, self.message = failure, message


@dataclass(frozen=True)
class JobReport:
    """A job's status (a JobStatus value) and, once it ended, its driver's exit code."""

    status: str
    exit_code: int | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class JobsApi:
    """One cluster's Jobs API; the client is made (and remade after an error) on first use."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._client: Any = None

    def submit(self, submission_id: str, entrypoint: str, runtime_env: dict[str, Any]) -> None:
        """Submit a job under ``submission_id`` (JobsApiError EXISTS when it is taken)."""
        self._call("submit_job", entrypoint=entrypoint, submission_id=submission_id, runtime_env=runtime_env)

    def report(self, submission_id: str) -> JobReport:
        """The job's status and exit code."""
        info = self._call("get_job_info", submission_id)
        status = getattr(info.status, "value", str(info.status))
        return JobReport(str(status), getattr(info, "driver_exit_code", None))

    def logs(self, submission_id: str) -> str:
        """Everything the job printed so far."""
        return str(self._call("get_job_logs", submission_id))

    def stop(self, submission_id: str) -> None:
        """Ask the cluster to stop the job (no effect on a job that ended)."""
        self._call("stop_job", submission_id)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            if self._client is None:
                from ray.job_submission import JobSubmissionClient

                self._client = JobSubmissionClient(self.address)
            return getattr(self._client, method)(*args, **kwargs)
        except Exception as exc:
            failure = classify(exc)
            if failure == Failure.UNREACHABLE:
                self._client = None  # reconnect next time (the head may have restarted)
            raise JobsApiError(failure, f"{type(exc).__name__}: {_last_line(str(exc))}") from exc


def _last_line(text: str) -> str:
    """The meaningful line of an error text (the Jobs API sends whole tracebacks)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and line.strip() != "."]
    return lines[-1][:500] if lines else ""
