"""Recorded deployments: written with a promotion, retired when the model moves target, stopped and
started by an operator, and kept by one replica at a time under a lease (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.store import (
    DeploymentState,
    DeploymentStore,
    Desired,
    Health,
    JobRequest,
    Lease,
    ProductionJob,
    PromotionState,
    PromotionStore,
    RunStore,
)
from tests.fixtures.clocks import Clock

KEY = ("octo/wine", "wine", "mlflow-serve")
SERVED = Desired("octo/wine", "wine", "mlflow-serve", 3, "http://127.0.0.1:5001/invocations",
                 {"kind": "mlflow-serve", "host": "127.0.0.1", "port": 5001})
A, B = Lease("replica-a", 90.0), Lease("replica-b", 90.0)


@pytest.fixture
def store(engine: Engine, clock: Clock) -> DeploymentStore:
    return DeploymentStore(engine, now=clock)


def test_a_recorded_deployment_is_kept_by_its_deployer_and_replaced_by_the_next(store: DeploymentStore,
                                                                                clock: Clock) -> None:
    store.record(SERVED, A)
    [first] = store.all()
    assert (first.version, first.url, first.state, first.health) == (3, SERVED.url, DeploymentState.SERVING,
                                                                     Health.UP)
    assert first.spec["port"] == 5001 and first.holder == "replica-a" and first.restarts == 0
    clock.advance(300)
    store.record(Desired("octo/wine", "wine", "mlflow-serve", 4, SERVED.url, SERVED.spec), B)
    [second] = store.all()
    assert (second.version, second.holder) == (4, "replica-b") and second.since > first.since


def test_moving_a_model_to_another_target_retires_the_old_deployment(store: DeploymentStore) -> None:
    store.record(SERVED, A)
    store.record(Desired("octo/wine", "wine", "ray-serve", 4, "http://ray:8000/wine/invocations"), A)
    states = {r.target: r.state for r in store.all()}
    assert states == {"mlflow-serve": DeploymentState.RETIRED, "ray-serve": DeploymentState.SERVING}
    assert [g[2] for g in store.gauges()] == ["ray-serve"]  # retired ones leave /metrics


@pytest.mark.parametrize(
    ("holder", "seconds_later", "force", "taken"),
    [
        ("replica-a", 10, False, True),  # the holder renews
        ("replica-b", 10, False, False),  # another replica waits while the lease runs
        ("replica-b", 100, False, True),  # ... and takes over once it ran out (its holder died)
        ("replica-b", 10, True, True),  # a run deploying the model takes it over at once
    ],
)
def test_one_replica_keeps_a_deployment_at_a_time(
    store: DeploymentStore, clock: Clock, holder: str, seconds_later: int, force: bool, taken: bool
) -> None:
    store.record(SERVED, A)
    clock.advance(seconds_later)
    assert store.take(KEY, Lease(holder, 90.0), force=force) is taken
    record = store.get(KEY)
    assert record is not None and record.holder == (holder if taken else "replica-a")


def test_only_the_holder_writes_what_it_saw(store: DeploymentStore) -> None:
    store.record(SERVED, A)
    store.observe(KEY, "replica-b", Health.DOWN, "not mine")
    store.observe(KEY, "replica-a", Health.DOWN, "/ping failed", restarted=True)
    record = store.get(KEY)
    assert record is not None
    assert (record.health, record.health_detail, record.restarts) == (Health.DOWN, "/ping failed", 1)


def test_a_released_lease_is_free_for_another_replica_at_once(store: DeploymentStore) -> None:
    store.record(SERVED, A)
    store.release("replica-a")
    assert store.take(KEY, B)


def test_an_operator_stops_and_starts_a_model(store: DeploymentStore) -> None:
    store.record(SERVED, A)
    [stopped] = store.set_state("wine", DeploymentState.STOPPED)
    assert stopped.state == DeploymentState.STOPPED
    assert store.set_state("wine", DeploymentState.STOPPED) == []  # already so
    assert store.set_state("wine", DeploymentState.SERVING, repository="octo/other") == []
    [started] = store.set_state("wine", DeploymentState.SERVING, repository="Octo/Wine")
    assert started.state == DeploymentState.SERVING and started.version == 3
    assert store.gauges() == [("octo/wine", "wine", "mlflow-serve", True, 0)]


def test_the_deployment_is_written_in_the_promotion_s_transaction(
    engine: Engine, store: DeploymentStore
) -> None:
    run = RunStore(engine).enqueue(JobRequest("octo/wine", 1, 3, "a" * 40, "pull_request.merged",
                                              ProductionJob()))
    promotions = PromotionStore(engine)
    claimed, _ = promotions.claim("wine", "a" * 40, run.id)

    def record_then_fail(conn: object) -> None:
        store.record(SERVED, A, conn)  # type: ignore[arg-type]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        promotions.settle(claimed.id, PromotionState.PROMOTED, 3, also=record_then_fail)
    assert store.all() == [] and promotions.history("wine")[0].state == PromotionState.PENDING
    promotions.settle(claimed.id, PromotionState.PROMOTED, 3, also=lambda conn: store.record(SERVED, A, conn))
    assert [r.version for r in store.all()] == [3]
    assert promotions.history("wine")[0].state == PromotionState.PROMOTED
