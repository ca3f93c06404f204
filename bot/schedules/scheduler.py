"""The worker's scheduler: every period it claims the fires that are due and queues their scheduled runs.

Durable and replica-safe: next fire times live in the store, and each fire is claimed once
(``ScheduleStore.fire``). After downtime a schedule whose slots were missed fires once, for its latest
missed slot, and moves on to its first slot after now. ``tick(now)`` is the whole decision, so tests
drive it with a clock of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.processes.periodic import Periodic
from bot.store import FireRecord, JobRequest, ScheduledJob, ScheduleRecord, ScheduleStore
from bot.store.types import utc, utc_now
from pipelines.config.schedule import last_fire, next_fire

log = logging.getLogger(__name__)
SCHEDULE_TRIGGER = "schedule"


def fire_request(schedule: ScheduleRecord, now: datetime) -> JobRequest:
    """The scheduled run a fire of ``schedule`` queues: its latest slot at or before ``now``."""
    latest = max(last_fire(schedule.cron, now), schedule.next_fire_at)
    job = ScheduledJob(schedule=schedule.key, fire_at=latest)
    return JobRequest(schedule.repository, schedule.installation_id, None, None, SCHEDULE_TRIGGER, job)


class Scheduler:
    """Claims due fires each ``period_seconds``; ``on_queued`` hears of each run it queued."""

    def __init__(
        self, store: ScheduleStore, period_seconds: float = 30.0, clock: Callable[[], datetime] = utc_now,
        on_queued: Callable[[FireRecord], None] | None = None,
    ) -> None:
        self._store, self._clock = store, clock
        self._on_queued = on_queued
        self._ticks = Periodic("modelgate-scheduler", self.tick, period_seconds, log, "scheduler tick failed")

    def tick(self, now: datetime | None = None) -> list[FireRecord]:
        """Claim every fire due at ``now`` (default: the clock) and queue its run; the fires this call won."""
        at = utc(now or self._clock())
        claimed = []
        for schedule in self._store.due(at):
            try:
                fired = self._store.fire(schedule, next_fire(schedule.cron, at), fire_request(schedule, at))
            except Exception:  # one schedule's problem must not stop the others
                log.exception("schedule %r of %s did not fire", schedule.key, schedule.repository)
                continue
            if fired is None:
                continue  # another replica claimed it
            log.info("schedule %r of %s fired for %s: run %s", schedule.key, schedule.repository,
                     fired.fire_at.isoformat(), fired.run_id)
            claimed.append(fired)
            if self._on_queued is not None:
                self._on_queued(fired)
        return claimed

    def start(self) -> None:
        """Tick in a background thread until ``stop``."""
        self._ticks.start()

    def stop(self) -> None:
        """Stop ticking (waits for a tick under way)."""
        self._ticks.stop()
