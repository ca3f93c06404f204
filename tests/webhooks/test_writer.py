"""Group commit on real databases: both strategies batch, deduplicate and fail loudly."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.store import DeliveryStore, IncomingDelivery, JobRequest, RunStore, StagingJob, create_db_engine
from bot.store.engine import migrate
from bot.store.writer_queue import when_turn_free, writer_turn
from bot.webhooks import writer as writer_module
from bot.webhooks.writer import (
    DeliveryWriter,
    InlineGroupCommit,
    ThreadedGroupCommit,
    WriterStopped,
    writer_for,
)
from tests.fixtures.db import drop_store_tables


def _delivery(guid: str | None = None, pr: int = 1) -> IncomingDelivery:
    job = JobRequest("octo/wine", 1, pr, "a" * 40, "pull_request.opened", StagingJob())
    return IncomingDelivery(guid or str(uuid.uuid4()), "pull_request", "opened", 1, "octo/wine",
                            "accepted", {"pr": pr}, job)


@pytest.fixture(params=["inline", "threaded"])
def writer(request: pytest.FixtureRequest, engine: Engine) -> DeliveryWriter:
    kind = InlineGroupCommit if request.param == "inline" else ThreadedGroupCommit
    return kind(DeliveryStore(engine).record)


def test_concurrent_submits_share_commits_and_dedupe(writer: DeliveryWriter, engine: Engine) -> None:
    batches: list[int] = []
    writer.on_committed(lambda fresh: batches.append(len(fresh)))
    queued_runs: list[str] = []
    writer.on_runs_queued(queued_runs.extend)
    repeated = _delivery("same-guid")

    async def main() -> list[bool]:
        writer.start()
        try:
            jobs = [writer.submit(_delivery(pr=n % 5)) for n in range(100)]
            jobs += [writer.submit(repeated), writer.submit(repeated)]
            return list(await asyncio.gather(*jobs))
        finally:
            writer.stop()

    results = asyncio.run(main())
    assert results[:100] == [True] * 100
    assert sorted(results[100:]) == [False, True]  # the second copy of a GUID is a duplicate
    assert DeliveryStore(engine).count() == 101 and sum(batches) == 101
    assert len(batches) < 101  # grouped: fewer commits than deliveries
    runs = RunStore(engine).list_runs()
    assert len(runs) == 5  # coalesced by (PR, SHA)
    assert sorted(queued_runs) == sorted(run.delivery_guid for run in runs)  # only the runs' creators


def test_a_database_failure_reaches_every_waiter(writer: DeliveryWriter, engine: Engine) -> None:
    drop_store_tables(engine)

    async def main() -> list[BaseException | bool]:
        writer.start()
        try:
            return list(await asyncio.gather(*(writer.submit(_delivery()) for _ in range(5)),
                                             return_exceptions=True))
        finally:
            writer.stop()

    results = asyncio.run(main())
    assert all(isinstance(r, Exception) for r in results)


def test_a_stopped_writer_refuses(writer: DeliveryWriter) -> None:
    with pytest.raises(WriterStopped):
        asyncio.run(writer.submit(_delivery()))


def test_strategy_follows_the_database() -> None:
    assert isinstance(writer_for("sqlite", lambda batch: []), InlineGroupCommit)
    assert isinstance(writer_for("postgresql", lambda batch: []), ThreadedGroupCommit)


def test_an_inline_writer_refused_its_turn_commits_once_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process has the database: the deliveries wait, and are committed the moment it lets go (woken
    by ``when_turn_free``, not by the fallback retry, put out of reach here)."""
    monkeypatch.setattr(writer_module, "WATCHED_RETRY_SECONDS", 60.0)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    migrate(engine)
    writer = writer_for("sqlite", DeliveryStore(engine).record, functools.partial(writer_turn, engine),
                        functools.partial(when_turn_free, engine))
    other = os.open(tmp_path / "intake.db.writer", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)

    async def main() -> tuple[bool, list[bool], float]:
        writer.start()
        try:
            stored = asyncio.gather(*(writer.submit(_delivery()) for _ in range(3)))
            await asyncio.sleep(0.3)
            waited = not stored.done()
            released = time.monotonic()
            fcntl.flock(other, fcntl.LOCK_UN)
            results = await asyncio.wait_for(stored, 10)
            return waited, results, time.monotonic() - released
        finally:
            writer.stop()

    try:
        waited, results, after = asyncio.run(main())
    finally:
        os.close(other)
    assert waited and results == [True, True, True] and after < 5
    assert DeliveryStore(engine).count() == 3
    engine.dispose()
