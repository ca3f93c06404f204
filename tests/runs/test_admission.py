"""Admission: the App's rules on model names and serving ports applied to the store, then by a
production run against the GitHub stand-in (canned executor): a refused run promotes, deploys and
claims nothing, and says why on its check run, its commit status and the sticky comment."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine

from bot.feedback.outcomes import (
    host_not_allowed,
    no_free_port,
    not_promoted_refused,
    owned_elsewhere,
    port_not_allowed,
    port_taken,
)
from bot.runs.admission import Admission, Admitted, Refusal
from bot.runs.ownership import ServeAddress, ServePolicy
from bot.store import (
    JobRequest,
    OwnershipStore,
    PortHolder,
    ProductionJob,
    PromotionState,
    RunState,
    RunStore,
)
from pipelines.config import ModelgateConfig, parse_config
from tests.fixtures.fake_executor import MODEL, passed
from tests.fixtures.run_world import CONFIG, FILES, FULL, World

SERVE = "deploy: {kind: mlflow-serve}\n"
ELSEWHERE = "octo/elsewhere"


def _config(deploy: str = "") -> ModelgateConfig:
    return parse_config(CONFIG + deploy)


def _admission(engine: Engine, shared: frozenset[str] = frozenset()) -> Admission:
    policy = ServePolicy(first_port=8100, last_port=8101, shared_models=shared)
    return Admission(OwnershipStore(engine), policy, tracking_uri="sqlite:///unused.db")


def _finished_run(engine: Engine, repository: str) -> int:
    """A production run of ``repository``, claimed and finished (claims name their run)."""
    runs = RunStore(engine)
    queued = runs.enqueue(JobRequest(repository, None, None, None, "test", ProductionJob()))
    claimed = runs.claim("w")
    assert claimed is not None and claimed.id == queued.id
    runs.finish(claimed.id, RunState.SUCCEEDED)
    return queued.id


def test_the_first_repository_owns_the_name_and_keeps_its_port(engine: Engine) -> None:
    admission, store = _admission(engine), OwnershipStore(engine)
    ours, theirs = _finished_run(engine, "acme/wine"), _finished_run(engine, ELSEWHERE)
    assert admission.admit("acme/wine", _config(SERVE), ours) == Admitted(ServeAddress("127.0.0.1", 8100))
    assert admission.admit("Acme/Wine", _config(SERVE), ours) == Admitted(ServeAddress("127.0.0.1", 8100))
    refused = admission.admit(ELSEWHERE, _config(SERVE), theirs)
    assert refused == Refusal(owned_elsewhere(MODEL, "acme/wine"))
    owner = store.owner(MODEL)
    assert owner is not None and (owner.repository, owner.run_id) == ("acme/wine", ours)
    assert store.ports() == [PortHolder(8100, "acme/wine", MODEL)]  # the refused repository got none
    assert admission.serve_address("acme/wine", _config(SERVE)) == Admitted(ServeAddress("127.0.0.1", 8100))


def test_a_shared_name_gives_each_repository_its_own_port(engine: Engine) -> None:
    admission, store = _admission(engine, frozenset({MODEL})), OwnershipStore(engine)
    repositories = ["acme/wine", ELSEWHERE, "third/wine"]
    addresses = [admission.admit(name, _config(SERVE), _finished_run(engine, name)) for name in repositories]
    assert addresses == [Admitted(ServeAddress("127.0.0.1", 8100)), Admitted(ServeAddress("127.0.0.1", 8101)),
                         Refusal(no_free_port("8100-8101"))]
    owner = store.owner(MODEL)
    assert owner is not None and owner.repository == "acme/wine"  # still recorded: the first one


@pytest.mark.parametrize(
    ("deploy", "reason"),
    [
        ("deploy: {kind: mlflow-serve, port: 9000}\n", port_not_allowed(9000, "8100-8101")),
        ("deploy: {kind: mlflow-serve, host: 0.0.0.0}\n", host_not_allowed("0.0.0.0", "127.0.0.1")),
    ],
    ids=["port", "host"],
)
def test_a_refused_address_claims_nothing(engine: Engine, deploy: str, reason: str) -> None:
    admission, store = _admission(engine), OwnershipStore(engine)
    run_id = _finished_run(engine, "acme/wine")
    assert admission.admit("acme/wine", _config(deploy), run_id) == Refusal(reason)
    assert store.owner(MODEL) is None and store.ports() == []


def test_other_deploy_kinds_claim_the_name_and_no_port(engine: Engine) -> None:
    admission, store = _admission(engine), OwnershipStore(engine)
    assert admission.admit("acme/wine", _config(), _finished_run(engine, "acme/wine")) == Admitted(None)
    assert admission.serve_address("acme/wine", _config()) == Admitted(None)
    assert store.owner(MODEL) is not None and store.ports() == []


@pytest.mark.parametrize(
    ("deploy", "owned", "held", "reason"),
    [
        ("", True, False, owned_elsewhere(MODEL, ELSEWHERE)),
        ("deploy: {kind: mlflow-serve, port: 9000}\n", False, False, port_not_allowed(9000, "8100-8199")),
        ("deploy: {kind: mlflow-serve, port: 8100}\n", False, True, port_taken(8100, ELSEWHERE, "cheese")),
    ],
    ids=["owned-elsewhere", "port-not-allowed", "port-taken"],
)
def test_a_refused_merge_promotes_nothing_and_says_why(
    world: World, engine: Engine, deploy: str, owned: bool, held: bool, reason: str
) -> None:
    if owned:
        world.owners.claim_model(MODEL, ELSEWHERE, _finished_run(engine, ELSEWHERE))
    if held:
        world.owners.claim_port(ELSEWHERE, "cheese", 8100)
    world.executor.canned = replace(passed("production"), champion_version=None)
    world.create_repo({**FILES, ".modelgate.yml": CONFIG + deploy})
    _, pr = world.open_pr()
    sha = world.merge(pr)

    outcome, run = world.process(world.request(ProductionJob(), pr, sha, "pull_request.closed"))

    line = not_promoted_refused(reason)
    assert (outcome.state, run.state) == (RunState.SUCCEEDED, RunState.SUCCEEDED)
    assert outcome.result is not None and outcome.result["status"] == "passed"  # the gates passed
    assert outcome.result["production"] == {"state": "rejected", "version": None, "outcome": line}
    assert world.statuses(sha, "production")[-1] == ("failure", line.split(";")[0])
    [check] = world.checks(sha, "production")
    assert (check["conclusion"], check["output"]["title"]) == (
        "failure", "Not promoted: refused by the App's ownership rules")
    assert check["output"]["summary"].startswith(f"**{line}**")
    [comment] = world.comments(pr)
    assert line in comment
    [record] = world.promotions.history(MODEL)
    assert (record.run_id, record.state, record.version) == (run.id, PromotionState.REJECTED, None)
    assert world.state()["deployments"] == []
    owner = world.owners.owner(MODEL)
    assert (owner.repository if owner else None) == (ELSEWHERE if owned else None)  # nothing claimed
    assert all(holder.repository != FULL for holder in world.owners.ports())
