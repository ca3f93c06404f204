"""The `schedule:` and `dashboard:` sections of `.modelgate.yml`: continuous training read from the default
branch's configuration only (never a PR's), and the repository's dashboard issue.

Cron expressions are five UTC fields, checked and iterated by cronsim. cronsim is imported on use: the
repository's job re-reads the configuration in its own environment, which has no cronsim (the job runtime
stays small); there only the field count is checked, the trusted side having checked the whole first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SchedulePipeline = Literal["production"]


class ScheduleEntry(BaseModel):
    """One schedule: when (cron, UTC) and which pipeline runs on the default branch's head."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str = Field(
        min_length=1,
        description="Five cron fields in UTC (minute hour day-of-month month day-of-week), e.g. '0 3 * * 1'.",
    )
    pipeline: SchedulePipeline = Field(
        "production", description="production: train on fresh production data; promote and deploy only if "
        "the production gates pass against the champion.",
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        text = " ".join(value.split())
        problem = cron_problem(text)
        if problem is not None:
            raise ValueError(f"not a valid cron expression: {problem}")
        return text

    @property
    def key(self) -> str:
        """What identifies the schedule in the store: its pipeline and expression."""
        return f"{self.pipeline} {self.cron}"


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not five valid cron fields (None: it is)."""
    if len(expression.split()) != 5:
        return "expected five fields: minute hour day-of-month month day-of-week"
    try:
        from cronsim import CronSim, CronSimError
    except ImportError:  # the repository's job environment: the trusted side checked it already
        return None
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        return str(exc).lower()
    return None


def next_fire(cron: str, after: datetime) -> datetime:
    """The first time ``cron`` fires strictly after ``after`` (aware UTC)."""
    from cronsim import CronSim

    start = after.astimezone(UTC) if after.tzinfo else after.replace(tzinfo=UTC)
    return next(CronSim(cron, start)).astimezone(UTC)


SCHEDULE_FIELD: Any = Field(
    default_factory=list, title="Schedule",
    description="Continuous training: runs on the default branch's head commit at these times. Read only "
    "from the default branch's configuration, never from a pull request.",
)
DASHBOARD_FIELD = Field(
    True, description="Keep a dashboard issue in the repository (champion, outcomes, open PRs, next run, "
    "a 'retrain now' checkbox).",
)


def last_fire(cron: str, at: datetime) -> datetime:
    """The latest time ``cron`` fires at or before ``at``'s minute (aware UTC)."""
    from cronsim import CronSim

    start = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    minute = start.replace(second=0, microsecond=0) + timedelta(seconds=1)  # cronsim: this minute counts
    return next(CronSim(cron, minute, reverse=True)).astimezone(UTC)
