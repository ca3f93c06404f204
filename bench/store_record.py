"""The webhook intake's store against a bare sqlite3 transaction doing the same work.

``DeliveryStore.record`` commits a batch of deliveries (the intake groups what arrives together): one
``BEGIN IMMEDIATE``, the deliveries inserted with ``INSERT OR IGNORE … RETURNING``, the queued runs of their
repository read to coalesce the batch's staging request into one, a run inserted when none is queued, the
commit. The baseline runs the same statements on a plain ``sqlite3`` connection with values bound by hand
(no job models, no coalescing logic, no SQLAlchemy): what storing costs at least. Both on their own file of
the same schema, WAL, ``synchronous=NORMAL``; every delivery the same ``pull_request.opened`` payload with a
fresh GUID, as in the ingest harness. Interleaved, ``--reps`` times; medians.

Run: ``.venv/bin/python bench/store_record.py [--batch 10] [--batches 400] [--reps 5]``
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.store.deliveries import DeliveryStore
from bot.store.engine import create_db_engine, migrate
from bot.store.types import IncomingDelivery
from bot.webhooks.routing import route

PAYLOAD = Path(__file__).resolve().parents[1] / "tests/fixtures/github/webhooks/pull_request.opened.1.json"
NEW_RUN = ("INSERT INTO runs (kind, repository, trigger, state, attempts, created_at, github_refs, details) "
           "VALUES ('staging', ?, 'pull_request', 'queued', 0, ?, '{}', '{}')")
COLUMNS = ("guid", "event", "action", "installation_id", "repository", "outcome", "summary", "received_at")


def _ours(folder: Path) -> Callable[[list[IncomingDelivery]], object]:
    engine = create_db_engine(f"sqlite:///{folder / 'ours.db'}")
    migrate(engine)
    return DeliveryStore(engine).record


def _bare(folder: Path) -> Callable[[list[IncomingDelivery]], object]:
    path = folder / "bare.db"
    migrate(create_db_engine(f"sqlite:///{path}"))  # the same schema
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        con.execute(f"PRAGMA {pragma}")

    def record(batch: list[IncomingDelivery]) -> object:
        rows = "(" + ", ".join("?" * len(COLUMNS)) + ")"
        sql = (f"INSERT OR IGNORE INTO deliveries ({', '.join(COLUMNS)}) "
               f"VALUES {', '.join([rows] * len(batch))} ")
        values: list[object] = []
        for d in batch:
            values += (d.guid, d.event, d.action, d.installation_id, d.repository, d.outcome, "{}",
                       "2026-11-29 00:00:00.000000")
        con.execute("BEGIN IMMEDIATE")
        inserted = con.execute(sql + "RETURNING guid", values).fetchall()
        queued = con.execute("SELECT id FROM runs WHERE state = 'queued' AND repository = ?",
                             (batch[0].repository,)).fetchall()
        if not queued:
            con.execute(NEW_RUN, (batch[0].repository, "2026-11-29 00:00:00.000000"))
        con.execute("COMMIT")
        return inserted

    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    body = PAYLOAD.read_bytes()

    def batches() -> list[list[IncomingDelivery]]:
        return [[route(str(uuid.uuid4()), "pull_request", body, None) for _ in range(args.batch)]
                for _ in range(args.batches)]

    with tempfile.TemporaryDirectory() as folder:
        stores = {"DeliveryStore.record": _ours(Path(folder)), "bare sqlite3": _bare(Path(folder))}
        for record in stores.values():  # warm: caches, compiled statements, a first run queued
            for batch in batches()[:20]:
                record(batch)
        seconds: dict[str, list[float]] = {name: [] for name in stores}
        for _ in range(args.reps):
            for name, record in stores.items():
                work = batches()
                started = time.perf_counter()
                for batch in work:
                    record(batch)
                seconds[name].append((time.perf_counter() - started) / (args.batches * args.batch))
    ours, bare = (statistics.median(seconds[name]) * 1e6 for name in stores)
    print(f"batches of {args.batch}, {args.batches} a repetition, medians of {args.reps}:")
    print(f"DeliveryStore.record {ours:.1f} us a delivery, bare sqlite3 {bare:.1f} us: {ours / bare:.2f}x")


if __name__ == "__main__":
    main()
