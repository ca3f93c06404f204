"""What a run carries: its kind and one frozen model per kind, the contract between those who
queue runs (webhook routing, PR commands, ``modelgate rollback``) and the handlers that run them.

A job is stored in the ``details`` JSON column of ``runs`` (the ``kind`` column says which
model reads it). Readers ignore keys they do not know, so rows written by older versions load.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

RunKind = Literal["staging", "production", "rollback", "command", "scheduled", "install", "uninstall"]


class _Job(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class StagingJob(_Job):
    """Run staging on a PR's head. ``approved_sha``: the one commit a maintainer allowed to run
    (a fork's or first-time contributor's code runs only then); ``force``: skip the result cache."""

    kind: Literal["staging"] = "staging"
    draft: bool | None = None  # None: the request did not see the PR (a check button)
    fork: bool | None = None
    force: bool = False
    approved_sha: str | None = None
    approved_by: str | None = None
    comment_id: int | None = None  # the ``/retrain`` comment that asked for the run
    author: str | None = None  # who asked for it (``/retrain``)

    def joined(self, newer: StagingJob) -> StagingJob:
        """This queued job with a later request for the same commit folded in: the newer PR state
        where it saw the PR, an approval from either (the newer wins), ``force`` if either asked."""
        # the same request again (a PR's repeated events): nothing to fold in. The fields compared as
        # pydantic's ``==`` compares them, without its other checks: this runs once a delivery.
        if newer.__dict__ == self.__dict__:
            return self
        approved = newer if newer.approved_sha else self
        asked = newer if newer.comment_id is not None else self
        return StagingJob(draft=self.draft if newer.draft is None else newer.draft,
                          fork=self.fork if newer.fork is None else newer.fork,
                          force=self.force or newer.force,
                          approved_sha=approved.approved_sha, approved_by=approved.approved_by,
                          comment_id=asked.comment_id, author=asked.author)


class ProductionJob(_Job):
    """Run production on a merge commit (or a commit pushed to the default branch)."""

    kind: Literal["production"] = "production"


class CommandLine(_Job):
    """One command line of a comment: ``/retrain --force`` → name "retrain", args ("--force",)."""

    name: str
    args: tuple[str, ...] = ()
    line: str
    error: str | None = None  # the arguments could not be read (e.g. a quote that does not close)


class CommandJob(_Job):
    """Acknowledge, authorize and dispatch the commands of one PR comment. ``commented_at``: the
    comment's ``created_at`` (GitHub's clock): ``/retrain`` approves the head that waited then."""

    kind: Literal["command"] = "command"
    comment_id: int
    author: str | None = None
    commands: tuple[CommandLine, ...] = ()
    commented_at: datetime | None = None


class RollbackJob(_Job):
    """Move ``model``'s champion back (to ``to_version``, else the previous champion) and
    redeploy; ``reply_to``: the PR to report the outcome on (``/rollback``)."""

    kind: Literal["rollback"] = "rollback"
    model: str
    to_version: int | None = None
    actor: str = "unknown"
    reply_to: int | None = None


class ScheduledJob(_Job):
    """Train on fresh production data at the default branch's head (resolved when the run starts) and
    promote only if the gates pass. ``schedule``: the schedule that fired (None: asked for by a person,
    ``requested_by``, through the dashboard's checkbox or a re-run of the check); ``fire_at``: the slot it
    fired for, or when it was asked for (the data functions see it)."""

    kind: Literal["scheduled"] = "scheduled"
    schedule: str | None = None
    fire_at: datetime | None = None
    requested_by: str | None = None
    issue: int | None = None  # the dashboard issue whose "retrain now" checkbox asked for it


class InstallJob(_Job):
    """Store the schedules of repositories the App now reaches (it was installed on them, they were added to
    its installation, or the installation was unsuspended), read from their default branches'
    ``.modelgate.yml``. ``repositories`` None: every repository of the installation, as GitHub lists them."""

    kind: Literal["install"] = "install"
    installation_id: int
    repositories: tuple[str, ...] | None = None


class UninstallJob(_Job):
    """Forget what the App kept for repositories it no longer reaches: their schedules. ``repositories``
    None: every repository of the installation (the App was uninstalled)."""

    kind: Literal["uninstall"] = "uninstall"
    installation_id: int
    repositories: tuple[str, ...] | None = None


Job = Annotated[
    StagingJob | ProductionJob | CommandJob | RollbackJob | ScheduledJob | InstallJob | UninstallJob,
    Field(discriminator="kind"),
]
JobT = TypeVar("JobT", StagingJob, ProductionJob, CommandJob, RollbackJob, ScheduledJob, InstallJob,
               UninstallJob)
_JOB = TypeAdapter[Job](Job)


def load_job(kind: str, details: dict[str, Any] | None) -> Job:
    """The job stored for a run of ``kind`` (old rows' extra keys are ignored)."""
    return _JOB.validate_python({**(details or {}), "kind": kind})


def dump_job(job: Job) -> dict[str, Any]:
    """The JSON stored in the run's ``details`` column (the ``kind`` column holds the kind)."""
    return job.model_dump(mode="json", exclude={"kind"})
