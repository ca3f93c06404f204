"""Who may promote a model name, and where its scoring server listens: pure decisions on fetched
facts, table-tested (``tests/runs/test_ownership.py``). ``Admission`` (``bot/runs/admission.py``)
reads the facts from the store, calls these and records the claims.

Ownership (``decide_owner``): a model name belongs to the first repository that promotes it;
another repository may promote it only when the operator lists the name as shared
(``MODELGATE_SHARED_MODELS``). Repository names compare without case, as GitHub's do.

Serving address (``decide_port``), for ``deploy: {kind: mlflow-serve}``:
  1. the host is the App's (``MODELGATE_SERVE_HOST``); a repository asking for another is refused;
  2. a requested port must be in the App's range (``MODELGATE_SERVE_PORTS``) and not serve another
     (repository, model);
  3. with no port requested, the (repository, model) keeps the port it has (while the range holds
     it), else gets the lowest free port of the range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

ServeKey = tuple[str, str]  # (repository in lower case, model name): whose deployment


@dataclass(frozen=True)
class ServePolicy:
    """The operator's rules: the host scoring servers listen on, the ports they may use, and the
    model names several repositories may promote."""

    host: str = "127.0.0.1"
    first_port: int = 8100
    last_port: int = 8199
    shared_models: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> ServePolicy:
        """The policy the App's settings describe."""
        first, last = settings.serve_port_range
        return cls(settings.serve_host, first, last, settings.shared_model_names)

    @property
    def ports(self) -> range:
        """Every port scoring servers may listen on."""
        return range(self.first_port, self.last_port + 1)

    @property
    def ports_text(self) -> str:
        """The range as the setting spells it (``8100-8199``)."""
        same = self.first_port == self.last_port
        return str(self.first_port) if same else f"{self.first_port}-{self.last_port}"


@dataclass(frozen=True)
class ServeAddress:
    """Where a (repository, model)'s stable ``mlflow-serve`` port listens, as the App decided."""

    host: str
    port: int


class Refused(StrEnum):
    """Why the App promotes or serves nothing for a repository."""

    OWNED_ELSEWHERE = "owned elsewhere"  # the model name belongs to another repository
    HOST_NOT_ALLOWED = "host not allowed"  # deploy.host is not the App's serving host
    PORT_NOT_ALLOWED = "port not allowed"  # deploy.port is outside the App's range
    PORT_TAKEN = "port taken"  # deploy.port serves another (repository, model)
    NO_FREE_PORT = "no free port"  # every port of the range serves another (repository, model)


def decide_owner(policy: ServePolicy, repository: str, model: str, owner: str | None) -> Refused | None:
    """None when ``repository`` may promote ``model`` (``owner``: the repository owning the name,
    None when nobody does yet); else why not."""
    if owner is None or owner.lower() == repository.lower() or model in policy.shared_models:
        return None
    return Refused.OWNED_ELSEWHERE


@dataclass(frozen=True)
class PortDecision:
    """The address to serve on (to claim), or why there is none; ``holder``: whose port was asked for."""

    address: ServeAddress | None
    refused: Refused | None = None
    holder: ServeKey | None = None


def decide_port(
    policy: ServePolicy, key: ServeKey, requested_port: int | None, requested_host: str | None,
    holders: Mapping[int, ServeKey],
) -> PortDecision:
    """The serving address of ``key`` (its repository's ``deploy.port``/``deploy.host``, None when
    not set), given the ports recorded for every (repository, model) in ``holders``."""
    key = (key[0].lower(), key[1])
    if requested_host is not None and requested_host != policy.host:
        return PortDecision(None, Refused.HOST_NOT_ALLOWED)
    if requested_port is not None:
        holder = holders.get(requested_port)
        if requested_port not in policy.ports:
            return PortDecision(None, Refused.PORT_NOT_ALLOWED)
        if holder is not None and holder != key:
            return PortDecision(None, Refused.PORT_TAKEN, holder)
        return PortDecision(ServeAddress(policy.host, requested_port))
    kept = min((p for p, holder in holders.items() if holder == key and p in policy.ports), default=None)
    port = kept if kept is not None else next((p for p in policy.ports if p not in holders), None)
    if port is None:
        return PortDecision(None, Refused.NO_FREE_PORT)
    return PortDecision(ServeAddress(policy.host, port))
