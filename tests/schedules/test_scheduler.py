"""The scheduler on the real store (SQLite and PostgreSQL): fires come when due, once across replicas, and
once after downtime; syncing a configuration keeps or drops schedules; cron times as a table."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.schedules.scheduler import Scheduler
from bot.schedules.sync import sync_schedules
from bot.store import RunStore, ScheduledJob, ScheduleStore
from pipelines.config import parse_config
from pipelines.config.schedule import last_fire, next_fire
from tests.fixtures.clocks import Clock
from tests.fixtures.config_cases import EXAMPLE

REPO = "octo/wine"
MONDAY_3 = "0 3 * * 1"
SAT = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # a Saturday
MON = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # the next Monday, 03:00


def config(*crons: str) -> str:
    return EXAMPLE + "schedule:\n" + "".join(f"  - cron: '{cron}'\n" for cron in crons) if crons else EXAMPLE


@pytest.mark.parametrize(
    ("cron", "at", "after", "at_or_before"),
    [
        (MONDAY_3, SAT, MON, datetime(2026, 11, 23, 3, 0, tzinfo=UTC)),
        (MONDAY_3, MON, MON + timedelta(days=7), MON),  # the slot itself is the latest, not the next
        (MONDAY_3, MON + timedelta(seconds=59), MON + timedelta(days=7), MON),
        ("*/15 * * * *", datetime(2026, 1, 1, 0, 7, tzinfo=UTC), datetime(2026, 1, 1, 0, 15, tzinfo=UTC),
         datetime(2026, 1, 1, 0, 0, tzinfo=UTC)),
        ("0 0 29 2 *", datetime(2026, 3, 1, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC),
         datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_cron_times(cron: str, at: datetime, after: datetime, at_or_before: datetime) -> None:
    assert (next_fire(cron, at), last_fire(cron, at)) == (after, at_or_before)


@pytest.fixture
def clock() -> Clock:
    return Clock(SAT)


@pytest.fixture
def store(engine: Engine, clock: Clock) -> ScheduleStore:
    return ScheduleStore(engine, now=clock)


def test_a_schedule_fires_when_due_and_moves_on(store: ScheduleStore, engine: Engine, clock: Clock) -> None:
    sync_schedules(store, REPO, 7, parse_config(config(MONDAY_3)), clock())
    [schedule] = store.of(REPO)
    assert (schedule.key, schedule.next_fire_at) == (f"production {MONDAY_3}", MON)
    assert schedule.installation_id == 7
    scheduler = Scheduler(store, clock=clock)
    assert scheduler.tick(MON - timedelta(seconds=1)) == []
    [fired] = scheduler.tick(MON)
    run = RunStore(engine).get(fired.run_id or 0)
    assert run is not None and (run.kind, run.trigger, run.head_sha, run.installation_id) == (
        "scheduled", "schedule", None, 7)
    assert run.job == ScheduledJob(schedule=f"production {MONDAY_3}", fire_at=MON)
    assert store.of(REPO)[0].next_fire_at == MON + timedelta(days=7)
    assert scheduler.tick(MON + timedelta(minutes=5)) == []


def test_missed_fires_after_downtime_run_once(store: ScheduleStore, engine: Engine, clock: Clock) -> None:
    sync_schedules(store, REPO, 7, parse_config(config(MONDAY_3)), clock())
    back = MON + timedelta(days=21, hours=5)  # three Mondays missed
    [fired] = Scheduler(store).tick(back)
    assert fired.fire_at == MON  # the claimed slot
    run = RunStore(engine).get(fired.run_id or 0)
    assert run is not None and run.job_as(ScheduledJob).fire_at == MON + timedelta(days=21)  # the latest
    assert store.of(REPO)[0].next_fire_at == MON + timedelta(days=28)
    assert Scheduler(store).tick(back + timedelta(minutes=1)) == []
    assert len(store.fires(REPO)) == 1


def test_racing_replicas_claim_each_fire_once(engine: Engine, clock: Clock) -> None:
    """Replicas (own stores and schedulers on one database) tick at once, again and again."""
    sync_schedules(ScheduleStore(engine), REPO, 7, parse_config(config("*/5 * * * *", MONDAY_3)), clock())
    replicas = [Scheduler(ScheduleStore(engine)) for _ in range(4)]
    won: list[int] = []
    for minutes in (5, 10, 12, 60 * 24 * 3):
        start = threading.Barrier(len(replicas))

        def tick(scheduler: Scheduler, at: datetime = SAT + timedelta(minutes=minutes),
                 start: threading.Barrier = start) -> None:
            start.wait()
            won.extend(f.id for f in scheduler.tick(at))

        threads = [threading.Thread(target=tick, args=(s,)) for s in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    fires = ScheduleStore(engine).fires(REPO)
    assert sorted(won) == [f.id for f in fires]
    keys = [(f.key, f.fire_at) for f in fires]
    assert len(keys) == len(set(keys)) == 4  # */5 at :05 and :10, then once after 3 days; Monday once
    runs = RunStore(engine).list_runs(repository=REPO, limit=100)
    assert len(runs) == 1  # one queued scheduled run per repository: later fires join it


def test_a_new_configuration_keeps_changes_and_drops_schedules(store: ScheduleStore, clock: Clock) -> None:
    sync_schedules(store, REPO, 7, parse_config(config(MONDAY_3, "0 0 * * *")), clock())
    Scheduler(store).tick(SAT + timedelta(hours=3))  # the daily one fired and moved on
    daily = next(s for s in store.of(REPO) if s.cron == "0 0 * * *").next_fire_at
    clock.advance(3600)
    sync_schedules(store, REPO, 8, parse_config(config("0 0 * * *", "30 4 * * *")), clock())
    now = {s.cron: (s.next_fire_at, s.installation_id) for s in store.of(REPO)}
    assert now == {"0 0 * * *": (daily, 8), "30 4 * * *": (datetime(2026, 11, 29, 4, 30, tzinfo=UTC), 8)}
    sync_schedules(store, REPO, 8, None, clock())
    assert store.of(REPO) == []


def test_uninstalling_drops_the_schedules(store: ScheduleStore, clock: Clock) -> None:
    for repo, installation in ((REPO, 7), ("octo/beer", 7), ("other/wine", 9)):
        sync_schedules(store, repo, installation, parse_config(config(MONDAY_3)), clock())
    assert store.drop(repositories=["octo/beer"]) == 1
    assert store.drop(installation_id=7) == 1
    assert [s.repository for s in store.due(MON)] == ["other/wine"]
