"""Public data types of the job store: plain frozen dataclasses, never ORM objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, overload

from bot.store.jobs import Job, JobT, RunKind, dump_job

DeliveryOutcome = Literal["accepted", "ignored"]


class RunState(StrEnum):
    """Lifecycle of a run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


class Acknowledgement(StrEnum):
    """Where a queued staging run's acknowledgement on GitHub (its "queued" check run and pending status,
    written at intake) stands; None: not yet. The acknowledger and the claiming worker settle who
    writes first through this column, so a claimed run's check run never goes back to "queued"."""

    POSTING = "posting"  # the acknowledger is writing it: the worker waits
    POSTED = "posted"
    SKIPPED = "skipped"  # claimed before it was acknowledged: the acknowledger leaves it alone


TERMINAL: frozenset[RunState] = frozenset(
    {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.SUPERSEDED}
)

# Legal moves. RUNNING → QUEUED exists only for stale-run recovery (RunStore.recover_stale).
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset({RunState.RUNNING, RunState.CANCELLED, RunState.SUPERSEDED}),
    RunState.RUNNING: TERMINAL | {RunState.QUEUED},
    **{state: frozenset() for state in TERMINAL},
}


def sources(target: RunState) -> frozenset[RunState]:
    """The states from which ``target`` may be reached."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


class InvalidTransition(Exception):
    """A run cannot move to the requested state from the state it is in."""

    def __init__(self, run_id: int, from_state: str, to_state: str) -> None:
        self.run_id, self.from_state, self.to_state = run_id, from_state, to_state
        super().__init__(f"run {run_id}: illegal transition from {from_state} to {to_state}")


class RunNotFound(LookupError):
    """No run has this id."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} does not exist")


UNCOALESCED_KINDS = frozenset({"command", "rollback", "install", "uninstall"})
# A person's request joins only a queued run that person asked for (the worker checks each requester's access:
# a request joined to someone else's run would share its fate); requests of nobody (fires) join each other.
BY_REQUESTER_KINDS = frozenset({"scheduled"})


def stored_key(
    kind: str, repository: str, pr_number: int | None, head_sha: str | None, details: dict[str, Any] | None
) -> tuple[Any, ...]:
    """The coalescing key of a queued run as stored (``details``: its job's JSON); a run of an uncoalesced
    kind has one that no request's key equals."""
    key: tuple[Any, ...] = (kind, repository, pr_number, head_sha)
    if kind in BY_REQUESTER_KINDS:
        key += ((details or {}).get("requested_by"),)
    return key


@dataclass(frozen=True)
class JobRequest:
    """What to (re-)evaluate: a key (kind, repository, PR, SHA) plus the job's own context."""

    repository: str
    installation_id: int | None
    pr_number: int | None
    head_sha: str | None
    trigger: str
    job: Job

    @property
    def kind(self) -> RunKind:
        """The run kind, from the job."""
        return self.job.kind

    @cached_property
    def key(self) -> tuple[Any, ...]:
        """The coalescing key: queued runs with the same key are one run. Commands, rollbacks and
        installation changes never coalesce (each comment, each request is its own run); a scheduled run a
        person asked for joins only a queued one of that person's (``BY_REQUESTER_KINDS``). Computed once:
        the job is frozen, and the intake asks for it twice per delivery."""
        kind = self.kind
        if kind in UNCOALESCED_KINDS:
            unique = json.dumps(dump_job(self.job), sort_keys=True)
            return (kind, self.repository, self.pr_number, self.head_sha, unique)
        details = dump_job(self.job) if kind in BY_REQUESTER_KINDS else None  # only they key on the job
        return stored_key(kind, self.repository, self.pr_number, self.head_sha, details)


@dataclass(frozen=True)
class IncomingDelivery:
    """A verified, routed webhook delivery, ready to be stored."""

    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository: str | None
    outcome: DeliveryOutcome
    summary: dict[str, Any]
    job: JobRequest | None = None


@dataclass(frozen=True)
class DeliveryRecord:
    """A stored delivery."""

    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository: str | None
    outcome: str
    summary: dict[str, Any]
    received_at: datetime


@dataclass(frozen=True)
class RunRecord:
    """A stored run (all columns of ``runs``)."""

    id: int
    kind: RunKind
    repository: str
    installation_id: int | None
    pr_number: int | None
    head_sha: str | None
    trigger: str
    delivery_guid: str | None
    state: RunState
    attempts: int
    worker_id: str | None
    heartbeat_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    result: dict[str, Any] | None
    github_refs: dict[str, Any]
    job: Job
    cancel_requested: str | None = None
    acknowledgement: str | None = None  # a queued staging run's "queued" check run: Acknowledgement

    @property
    def terminal(self) -> bool:
        """True once the run has ended."""
        return self.state in TERMINAL

    def job_as(self, kind: type[JobT]) -> JobT:
        """The run's job as the model its handler expects; TypeError for a run of another kind."""
        if not isinstance(self.job, kind):
            raise TypeError(f"run {self.id} is a {self.kind} run, not a {kind.__name__}")
        return self.job


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (naive values, as SQLite returns them, are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)
