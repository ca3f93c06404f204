"""RunStore.claim serializes the serial kinds (production, rollback) per repository."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

from bot.store import RunRecord, RunState, RunStore
from bot.store.runs import SERIAL_KINDS
from tests.fixtures.clocks import Clock
from tests.fixtures.db import make_engine_for
from tests.fixtures.store_builders import SHA_B, job

OTHER_REPO = "octo/other"


def _claim_id(runs: RunStore, worker: str = "w", kinds: list[str] | None = None) -> int | None:
    run = runs.claim(worker, kinds=kinds)
    return run.id if run is not None else None


def test_second_production_run_waits_for_the_first(runs: RunStore) -> None:
    first = runs.enqueue(job(pr=1, kind="production"))
    second = runs.enqueue(job(pr=2, kind="production"))
    assert _claim_id(runs) == first.id
    assert runs.claim("w2") is None
    assert runs.claim("w2", kinds=["production"]) is None
    assert runs.get(second.id).state == RunState.QUEUED  # type: ignore[union-attr]
    runs.finish(first.id, RunState.FAILED, error="boom")  # any terminal state releases it
    claimed = runs.claim("w2")
    assert claimed is not None and (claimed.id, claimed.state) == (second.id, RunState.RUNNING)
    assert runs.claim("w3") is None


def test_staging_runs_of_the_repository_are_not_held_back(runs: RunStore) -> None:
    early_staging = runs.enqueue(job(pr=5))
    first = runs.enqueue(job(pr=1, kind="production"))
    second = runs.enqueue(job(pr=2, kind="production"))
    staging = runs.enqueue(job(pr=3))
    other_sha = runs.enqueue(job(pr=3, sha=SHA_B))
    assert _claim_id(runs, kinds=["production"]) == first.id
    # the queued production run behind the running one is skipped, not a barrier
    assert _claim_id(runs) == early_staging.id
    assert _claim_id(runs, kinds=["staging"]) == staging.id
    assert _claim_id(runs) == other_sha.id
    assert runs.claim("w") is None
    runs.finish(first.id, RunState.SUCCEEDED)
    assert _claim_id(runs) == second.id


def test_staging_run_is_claimable_behind_a_queued_production_run(runs: RunStore) -> None:
    production = runs.enqueue(job(pr=1, kind="production"))
    staging = runs.enqueue(job(pr=2))
    assert _claim_id(runs, kinds=["staging"]) == staging.id
    assert _claim_id(runs) == production.id


def test_production_runs_of_different_repositories_run_together(runs: RunStore) -> None:
    mine = runs.enqueue(job(pr=1, kind="production"))
    mine_next = runs.enqueue(job(pr=2, kind="production"))
    theirs = runs.enqueue(job(pr=1, kind="production", repository=OTHER_REPO))
    theirs_rollback = runs.enqueue(job(pr=None, kind="rollback", repository=OTHER_REPO))
    assert _claim_id(runs, "w1") == mine.id
    assert _claim_id(runs, "w2") == theirs.id
    assert runs.claim("w3") is None
    runs.finish(theirs.id, RunState.SUCCEEDED)
    assert _claim_id(runs, "w3") == theirs_rollback.id
    runs.finish(mine.id, RunState.SUCCEEDED)
    assert _claim_id(runs, "w4") == mine_next.id


def test_rollback_waits_behind_a_production_run(runs: RunStore) -> None:
    production = runs.enqueue(job(pr=1, kind="production"))
    rollback = runs.enqueue(job(pr=None, sha=None, kind="rollback"))
    # an older queued production run blocks, even for a worker that only takes rollbacks
    assert runs.claim("w", kinds=["rollback"]) is None
    assert _claim_id(runs) == production.id
    assert runs.claim("w", kinds=["rollback"]) is None
    assert runs.claim("w") is None
    runs.finish(production.id, RunState.SUCCEEDED)
    assert _claim_id(runs, kinds=["rollback"]) == rollback.id
    later = runs.enqueue(job(pr=3, kind="production"))
    assert runs.claim("w") is None  # and a production run waits behind the rollback
    runs.finish(rollback.id, RunState.SUCCEEDED)
    assert _claim_id(runs) == later.id


def test_a_cancelled_queued_run_no_longer_blocks(runs: RunStore) -> None:
    first = runs.enqueue(job(pr=1, kind="production"))
    second = runs.enqueue(job(pr=2, kind="production"))
    runs.cancel_queued("octo/models", 1, kind="production", reason="closed")
    assert runs.get(first.id).state == RunState.CANCELLED  # type: ignore[union-attr]
    assert _claim_id(runs) == second.id


def test_a_recovered_run_still_blocks_and_is_claimed_first(runs: RunStore, clock: Clock) -> None:
    lease, max_attempts = 60.0, 3
    first = runs.enqueue(job(pr=1, kind="production"))
    assert _claim_id(runs, "dead-worker") == first.id
    second = runs.enqueue(job(pr=2, kind="production"))
    rollback = runs.enqueue(job(pr=None, sha=None, kind="rollback"))
    clock.advance(lease + 1)
    (requeued,) = runs.recover_stale(lease, max_attempts)
    assert (requeued.id, requeued.state) == (first.id, RunState.QUEUED)
    assert runs.claim("w", kinds=["rollback"]) is None  # still blocked by the re-queued run
    again = runs.claim("w")
    assert again is not None and (again.id, again.attempts) == (first.id, 2)
    assert runs.claim("w") is None
    runs.finish(first.id, RunState.SUCCEEDED)
    assert _claim_id(runs) == second.id
    assert runs.claim("w") is None
    runs.finish(second.id, RunState.SUCCEEDED)
    assert _claim_id(runs) == rollback.id


def test_concurrent_claimers_never_overlap_serial_runs(db_url: str, runs: RunStore) -> None:
    """Replicas claim from a full queue while more runs are being enqueued: per repository,
    the serial runs run one at a time and in id order; staging runs are all taken too."""
    repos = ["octo/a", "octo/b", "octo/c"]
    per_repo, claimers, enqueuers = 8, 6, 2
    plan: list[tuple[str, int, str]] = []  # (repository, PR, kind)
    for n in range(per_repo):
        for repo in repos:
            plan.append((repo, n, "rollback" if n % 3 == 2 else "production"))
            if n % 2:
                plan.append((repo, 100 + n, "staging"))
    total = len(plan)
    for repo, n, kind in plan[: total // 2]:  # the claimers start on a full queue
        runs.enqueue(job(pr=n, kind=kind, repository=repo))
    later = plan[total // 2 :]
    engines = [make_engine_for(db_url, migrated=False) for _ in range(claimers + enqueuers)]
    lock = threading.Lock()
    start = threading.Barrier(claimers + enqueuers)
    holding: dict[str, int] = {}  # repository -> the serial run a worker holds
    order: dict[str, list[int]] = defaultdict(list)  # serial runs in claim order
    overlaps: list[tuple[str, int, int]] = []
    done: list[RunRecord] = []
    errors: list[BaseException] = []

    def enqueue(index: int) -> None:
        store = RunStore(engines[claimers + index])
        start.wait()
        for repo, n, kind in later[index::enqueuers]:
            store.enqueue(job(pr=n, kind=kind, repository=repo))
            time.sleep(0.001)

    def claim(index: int) -> None:
        store = RunStore(engines[index])
        start.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if len(done) == total:
                    return
            run = store.claim(f"w{index}")
            if run is None:
                time.sleep(0.002)
                continue
            serial = run.kind in SERIAL_KINDS
            if serial:
                with lock:
                    if run.repository in holding:
                        overlaps.append((run.repository, holding[run.repository], run.id))
                    holding[run.repository] = run.id
                    order[run.repository].append(run.id)
            time.sleep(0.01)  # work: gives another claimer every chance to overlap
            if serial:
                with lock:
                    holding.pop(run.repository, None)
            finished = store.finish(run.id, RunState.SUCCEEDED)
            with lock:
                done.append(finished)

    def guarded(target: Callable[[int], None], index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(claim, i)) for i in range(claimers)]
    threads += [threading.Thread(target=guarded, args=(enqueue, i)) for i in range(enqueuers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert errors == []
    assert overlaps == []
    assert len(done) == total and len({run.id for run in done}) == total
    assert {run.attempts for run in done} == {1}
    for repo in repos:
        serial_ids = [
            run.id for run in runs.list_runs(repository=repo, limit=1000)
            if run.kind in SERIAL_KINDS
        ]
        assert order[repo] == sorted(serial_ids), repo
    assert runs.counts() == {
        ("production", "succeeded"): sum(kind == "production" for _, _, kind in plan),
        ("rollback", "succeeded"): sum(kind == "rollback" for _, _, kind in plan),
        ("staging", "succeeded"): sum(kind == "staging" for _, _, kind in plan),
    }
