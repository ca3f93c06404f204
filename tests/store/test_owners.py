"""Model names and serving ports are claimed once, on SQLite and PostgreSQL, however many race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine

from bot.store import JobRequest, OwnershipStore, PortHolder, ProductionJob, RunStore
from tests.fixtures.db import make_engine_for

T = TypeVar("T")


def _run(engine: Engine, repository: str, sha: str) -> int:
    job = JobRequest(repository, 1, 3, sha, "pull_request.merged", ProductionJob())
    return RunStore(engine).enqueue(job).id


def _race(db_url: str, claims: list[Callable[[OwnershipStore], T]]) -> list[T]:
    """Run each claim at once in its own thread, each with its own engine (as replicas would)."""
    results: list[T] = []
    lock, start = threading.Lock(), threading.Barrier(len(claims))

    def claim(call: Callable[[OwnershipStore], T]) -> None:
        store = OwnershipStore(make_engine_for(db_url))
        start.wait()
        outcome = call(store)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=claim, args=(call,)) for call in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_first_repository_to_claim_a_model_name_owns_it(engine: Engine) -> None:
    store = OwnershipStore(engine)
    assert store.owner("wine") is None
    first, second = _run(engine, "acme/wine", "a" * 40), _run(engine, "octo/wine", "b" * 40)
    owner = store.claim_model("wine", "Acme/Wine", first)
    assert (owner.model_name, owner.repository, owner.run_id) == ("wine", "acme/wine", first)
    again = store.claim_model("wine", "octo/wine", second)  # the name is taken: the owner is returned
    assert again == owner and store.owner("wine") == owner
    assert store.claim_model("cheese", "octo/wine", second).repository == "octo/wine"  # per name


def test_two_repositories_racing_for_a_name_leave_one_owner(db_url: str, engine: Engine) -> None:
    repositories = ["acme/wine", "octo/wine"]
    runs = {name: _run(engine, name, str(index) * 40) for index, name in enumerate(repositories)}
    owners = _race(db_url, [lambda store, name=name: store.claim_model("wine", name, runs[name])
                            for name in repositories])
    assert len(owners) == 2 and owners[0] == owners[1]  # both see the one winner
    assert OwnershipStore(engine).owner("wine") == owners[0]
    assert owners[0].repository in repositories and owners[0].run_id == runs[owners[0].repository]


def test_a_port_serves_one_repository_and_model(engine: Engine) -> None:
    store = OwnershipStore(engine)
    assert store.claim_port("Acme/Wine", "wine", 8100)
    assert store.claim_port("acme/wine", "wine", 8100)  # claiming its own port again
    assert not store.claim_port("octo/wine", "wine", 8100)  # another repository
    assert not store.claim_port("acme/wine", "cheese", 8100)  # another model of the same repository
    assert store.claim_port("octo/wine", "wine", 8101)
    assert store.claim_port("acme/wine", "wine", 8102)  # moving frees 8100
    assert store.claim_port("acme/wine", "cheese", 8100)
    assert store.ports() == [PortHolder(8100, "acme/wine", "cheese"), PortHolder(8101, "octo/wine", "wine"),
                             PortHolder(8102, "acme/wine", "wine")]


def test_two_repositories_racing_for_a_port_leave_one_holder(db_url: str, engine: Engine) -> None:
    repositories = ["acme/wine", "octo/wine"]
    won = _race(db_url, [lambda store, name=name: store.claim_port(name, "wine", 8100)
                         for name in repositories])
    assert sorted(won) == [False, True]
    [holder] = OwnershipStore(engine).ports()
    assert holder.port == 8100 and holder.repository in repositories
