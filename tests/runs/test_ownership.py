"""The ownership and serving-port decisions (``bot/runs/ownership.py``), table-tested: pure
functions of the operator's policy and the claims the store records."""

from __future__ import annotations

import pytest

from bot.runs.ownership import (
    PortDecision,
    Refused,
    ServeAddress,
    ServeKey,
    ServePolicy,
    decide_owner,
    decide_port,
)
from bot.settings import Settings

POLICY = ServePolicy(host="127.0.0.1", first_port=8100, last_port=8102, shared_models=frozenset({"pooled"}))
OURS: ServeKey = ("acme/wine", "wine")
THEIRS: ServeKey = ("octo/wine", "wine")


@pytest.mark.parametrize(
    ("repository", "model", "owner", "expected"),
    [
        ("acme/wine", "wine", None, None),  # nobody owns it yet: the first to promote takes it
        ("acme/wine", "wine", "acme/wine", None),
        ("Acme/Wine", "wine", "acme/wine", None),  # GitHub names ignore case
        ("octo/wine", "wine", "acme/wine", Refused.OWNED_ELSEWHERE),
        ("octo/wine", "pooled", "acme/wine", None),  # the operator lets every repository promote it
        ("octo/wine", "Pooled", "acme/wine", Refused.OWNED_ELSEWHERE),  # model names keep their case
    ],
    ids=["unowned", "owner", "owner-other-case", "owned-elsewhere", "pooled", "pooled-is-exact"],
)
def test_a_model_name_belongs_to_its_first_repository(
    repository: str, model: str, owner: str | None, expected: Refused | None
) -> None:
    assert decide_owner(POLICY, repository, model, owner) == expected


def _at(port: int) -> PortDecision:
    return PortDecision(ServeAddress("127.0.0.1", port))


@pytest.mark.parametrize(
    ("port", "host", "holders", "expected"),
    [
        (None, None, {}, _at(8100)),  # nothing asked: the lowest free port
        (None, None, {8100: THEIRS}, _at(8101)),
        (None, None, {8100: THEIRS, 8102: OURS}, _at(8102)),  # stable: the port it has
        (None, None, {8100: THEIRS, 9000: OURS}, _at(8101)),  # its port left the range: a new one
        (None, None, {8100: THEIRS, 8101: THEIRS, 8102: ("acme/cheese", "cheese")},
         PortDecision(None, Refused.NO_FREE_PORT)),
        (8101, None, {}, _at(8101)),  # asked for and free
        (8101, "127.0.0.1", {8101: OURS}, _at(8101)),  # its own port, and the App's host
        (8101, None, {8100: OURS}, _at(8101)),  # moving to another free port
        (8101, None, {8101: THEIRS}, PortDecision(None, Refused.PORT_TAKEN, THEIRS)),
        (8101, None, {8101: ("acme/wine", "cheese")},  # another model of the same repository
         PortDecision(None, Refused.PORT_TAKEN, ("acme/wine", "cheese"))),
        (8080, None, {}, PortDecision(None, Refused.PORT_NOT_ALLOWED)),
        (3000, None, {3000: THEIRS}, PortDecision(None, Refused.PORT_NOT_ALLOWED)),  # the range comes first
        (None, "0.0.0.0", {}, PortDecision(None, Refused.HOST_NOT_ALLOWED)),
        (8101, "localhost", {}, PortDecision(None, Refused.HOST_NOT_ALLOWED)),  # exactly the App's host
    ],
    ids=["assigned", "assigned-next-free", "assigned-kept", "assigned-moved-into-range", "range-full",
         "requested", "requested-own", "requested-move", "requested-taken", "requested-taken-same-repo",
         "outside-range", "outside-range-and-taken", "other-host", "other-host-name"],
)
def test_the_serving_address_comes_from_the_apps_policy(
    port: int | None, host: str | None, holders: dict[int, ServeKey], expected: PortDecision
) -> None:
    assert decide_port(POLICY, OURS, port, host, holders) == expected


def test_the_repository_of_a_key_is_compared_without_case() -> None:
    assert decide_port(POLICY, ("Acme/Wine", "wine"), 8101, None, {8101: OURS}) == _at(8101)


def test_the_policy_comes_from_the_settings() -> None:
    settings = Settings(serve_host="10.0.0.5", serve_ports="9000", shared_models="wine, cheese ,")
    policy = ServePolicy.from_settings(settings)
    assert policy == ServePolicy("10.0.0.5", 9000, 9000, frozenset({"wine", "cheese"}))
    assert (list(policy.ports), policy.ports_text, POLICY.ports_text) == ([9000], "9000", "8100-8102")
    defaults = ServePolicy.from_settings(Settings())
    assert (defaults.host, defaults.ports_text) == ("127.0.0.1", "8100-8199") and not defaults.shared_models
