"""Admission: the App's rules on model names and serving ports (``bot/runs/ownership.py``), applied
to what the store records before a production run promotes and before a rollback redeploys.

``admit`` checks the model name's owner and the serving address without writing anything, then
claims the name (when nobody owned it) and the port; a refusal is a value carrying the reason to
show (``bot/feedback/outcomes``), and a refused run claims nothing. ``serve_address`` claims only
the port (a rollback redeploys where the version's repository serves). The claims are atomic in
the store, so of two repositories racing for one name or one port exactly one gets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.feedback import outcomes
from bot.runs.ownership import PortDecision, Refused, ServeAddress, ServePolicy, decide_owner, decide_port
from bot.store import OwnershipStore
from pipelines.config import ModelgateConfig
from pipelines.config.deploy import ServeDeploy

REPOSITORY_TAG = "modelgate.repository"
CLAIM_ATTEMPTS = 3  # tries at a free port when other (repository, model)s take the ones picked


@dataclass(frozen=True)
class Admitted:
    """The run may go on; ``address``: where ``mlflow-serve`` listens (None for other deploy kinds)."""

    address: ServeAddress | None


@dataclass(frozen=True)
class Refusal:
    """The run promotes and serves nothing; ``reason``: what was refused, then the next step."""

    reason: str


class Admission:
    """Applies the ownership and serving-port decisions and records the claims."""

    def __init__(self, store: OwnershipStore, policy: ServePolicy, tracking_uri: str) -> None:
        self._store, self._policy, self._tracking_uri = store, policy, tracking_uri

    @property
    def policy(self) -> ServePolicy:
        return self._policy

    def admit(
        self, repository: str, config: ModelgateConfig, run_id: int, champion_version: int | None = None
    ) -> Admitted | Refusal:
        """May ``repository`` promote its model and serve it as ``config`` says? A name nobody owns
        yet goes to ``repository`` — or, when its champion (``champion_version``) was promoted before
        ownership was recorded, to the repository that champion came from."""
        model = config.model.name
        owner = self._store.owner(model)
        claimant = (owner.repository if owner else None) or self._champion_repository(model, champion_version)
        refusal = self._owner_refusal(repository, model, claimant)
        if refusal is None:
            refusal = self._port_refusal(self._decide_port(repository, model, config.deploy), config.deploy)
        if refusal is None and owner is None:
            claimed = self._store.claim_model(model, claimant or repository, run_id)
            refusal = self._owner_refusal(repository, model, claimed.repository)
        return refusal or self.serve_address(repository, config)

    def serve_address(self, repository: str, config: ModelgateConfig) -> Admitted | Refusal:
        """The ``mlflow-serve`` address of (repository, model), claimed in the store; Admitted(None)
        for other deploy kinds."""
        deploy, model = config.deploy, config.model.name
        decision = self._decide_port(repository, model, deploy)
        for _ in range(CLAIM_ATTEMPTS):
            refusal = self._port_refusal(decision, deploy)
            if refusal is not None:
                return refusal
            if decision.address is None or self._store.claim_port(repository, model, decision.address.port):
                return Admitted(decision.address)
            decision = self._decide_port(repository, model, deploy)  # another one took it meanwhile
        return Refusal(outcomes.no_free_port(self._policy.ports_text))

    def _owner_refusal(self, repository: str, model: str, owner: str | None) -> Refusal | None:
        if decide_owner(self._policy, repository, model, owner) is None:
            return None
        return Refusal(outcomes.owned_elsewhere(model, str(owner)))

    def _decide_port(self, repository: str, model: str, deploy: object) -> PortDecision:
        """The port decision for a ``mlflow-serve`` deploy; an empty decision for other kinds."""
        if not isinstance(deploy, ServeDeploy):
            return PortDecision(None)
        holders = {h.port: (h.repository, h.model_name) for h in self._store.ports()}
        return decide_port(self._policy, (repository, model), deploy.port, deploy.host, holders)

    def _port_refusal(self, decision: PortDecision, deploy: object) -> Refusal | None:
        """The refusal a port decision carries, in words."""
        if decision.refused is None or not isinstance(deploy, ServeDeploy):
            return None
        allowed = self._policy.ports_text
        if decision.refused == Refused.HOST_NOT_ALLOWED:
            return Refusal(outcomes.host_not_allowed(str(deploy.host), self._policy.host))
        if decision.refused == Refused.PORT_NOT_ALLOWED:
            return Refusal(outcomes.port_not_allowed(int(deploy.port or 0), allowed))
        if decision.holder is not None:
            return Refusal(outcomes.port_taken(int(deploy.port or 0), *decision.holder))
        return Refusal(outcomes.no_free_port(allowed))

    def _champion_repository(self, model: str, version: int | None) -> str | None:
        """The repository a champion's ``modelgate.repository`` tag names (None: no champion or tag)."""
        if version is None:
            return None
        from pipelines.promotion import PromotionError, version_tags

        try:
            return version_tags(self._tracking_uri, model, version).get(REPOSITORY_TAG) or None
        except PromotionError:
            return None
