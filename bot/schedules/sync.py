"""Keeping a repository's stored schedules in step with its default branch's configuration."""

from __future__ import annotations

from datetime import datetime

from bot.store import ScheduleStore, Wanted
from pipelines.config import ModelgateConfig
from pipelines.config.schedule import next_fire


def wanted_schedules(config: ModelgateConfig | None, now: datetime) -> list[Wanted]:
    """The schedules ``config`` asks for (none without a valid configuration), each first firing at its next
    slot after ``now``; a schedule listed twice counts once."""
    if config is None:
        return []
    found = {entry.key: Wanted(entry.key, entry.cron, entry.pipeline, next_fire(entry.cron, now))
             for entry in config.schedule}
    return list(found.values())


def sync_schedules(
    store: ScheduleStore, repository: str, installation_id: int | None, config: ModelgateConfig | None,
    now: datetime,
) -> int:
    """Store the schedules of ``repository``'s default-branch ``config`` (None: it has none usable); how many
    it has now."""
    wanted = wanted_schedules(config, now)
    store.replace(repository, installation_id, wanted)
    return len(wanted)
