"""The reconcile loop (the controller pattern): in every worker process, at start and then every
``MODELGATE_RECONCILE_SECONDS``, compare each recorded deployment with what answers and make them match.

- It (re)starts the recorded version where it should serve and does not (a restarted App, a crashed
  scoring server), and stops what no record wants (an operator's ``stop``, a model moved to another
  target, a deployment another replica took over).
- A deployment is kept by one replica at a time: its lease (``DeploymentStore.take``), renewed on every
  pass; another replica takes it over only once the lease ran out. Within the process, ``DeployGuard``
  keeps a pass from touching a deployment a run is deploying right now.
- What it saw goes to the record (``health``), so ``modelgate deployments list`` and ``/metrics``
  (``modelgate_deployment_up``, ``modelgate_deployment_restarts_total``) tell the truth; what it did
  goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.deployments.decisions import Action, decide
from bot.deployments.guard import DeployGuard
from bot.deployments.replica import orphaned
from bot.processes.periodic import Periodic
from bot.store import DeploymentKey, DeploymentRecord, DeploymentState, DeploymentStore, Health, Lease
from pipelines.deploy import Health as Answer
from pipelines.deploy import Server

log = logging.getLogger(__name__)

ServerFor = Callable[[DeploymentRecord], Server | None]  # None: a target nothing keeps serving (command)
SampleFor = Callable[[DeploymentRecord], object | None]  # the rows a restarted version must predict


class LocalServers(Protocol):
    """The servers this process runs itself (``mlflow-serve``), by deployment key."""

    def served(self) -> list[DeploymentKey]:
        """The deployments this process serves."""
        ...

    def stop(self, key: DeploymentKey) -> None:
        """Stop serving ``key`` here."""
        ...


class NoLocalServers:
    """A process that serves nothing itself."""

    def served(self) -> list[DeploymentKey]:
        """None."""
        return []

    def stop(self, key: DeploymentKey) -> None:
        """Nothing to stop."""


@dataclass(frozen=True)
class Step:
    """What one pass did with one deployment (for the log and the tests)."""

    record: DeploymentRecord
    action: Action
    answer: Answer
    error: str | None = None


class Reconciler:
    """Runs reconcile passes on a thread of its own; ``reconcile()`` runs one pass now."""

    def __init__(
        self, store: DeploymentStore, lease: Lease, guard: DeployGuard, server_for: ServerFor,
        sample_for: SampleFor, period_seconds: float, local: LocalServers | None = None,
    ) -> None:
        self._store, self._lease, self._guard = store, lease, guard
        self._server_for, self._sample_for = server_for, sample_for
        self._local = local or NoLocalServers()
        self._passes = Periodic("reconcile", self.reconcile, period_seconds, log, "reconcile pass failed")

    def start(self) -> None:
        """Reconcile now and then every period, until ``stop()``."""
        self._passes.start()

    def stop(self) -> None:
        """Stop the loop and give up this replica's leases (another replica may take over at once). The
        servers keep running until the process ends."""
        self._passes.stop(timeout=60)
        try:
            self._store.release(self._lease.holder)
        except Exception:
            log.exception("could not release the deployment leases of %s", self._lease.holder)

    def reconcile(self) -> list[Step]:
        """One pass over every recorded deployment this replica keeps (or may take over)."""
        steps: list[Step] = []
        kept: set[DeploymentKey] = set()
        records = self._store.all()
        for record in records:
            step = self._one(record)
            if step is not None:
                steps.append(step)
                if step.action != Action.STOP and record.state == DeploymentState.SERVING:
                    kept.add(record.key)
        for key in self._local.served():
            if key not in kept:
                self._stop_unwanted(key)
        return steps

    def _one(self, record: DeploymentRecord) -> Step | None:
        """Check and fix one deployment; None when another replica keeps it or a run is deploying it."""
        with self._guard.try_hold(record.key) as held:
            if not held:
                return None
            try:
                server = self._server_for(record)
            except Exception:
                log.exception("reconcile: cannot build the server of %s", record.key)
                return None
            dead_holder = orphaned(record.holder, self._lease.holder)  # a process of this replica, killed
            if server is None or not self._store.take(record.key, self._lease, force=dead_holder):
                return None
            answer = server.health()
            action = decide(record.state, record.version, answer)
            error = self._act(record, server, action)
            self._observe(record, action, answer, error)
            return Step(record, action, answer, error)

    def _act(self, record: DeploymentRecord, server: Server, action: Action) -> str | None:
        """Carry the action out; the error that stopped it, if any."""
        name = f"{record.model_name} ({record.repository}, {record.target})"
        try:
            if action == Action.DEPLOY:
                assert record.version is not None  # decide() deploys only a recorded version
                log.warning("reconcile: version %d of %s does not answer: starting it", record.version, name)
                server.deploy(f"models:/{record.model_name}/{record.version}", record.version,
                              self._sample_for(record))
                log.info("reconcile: version %d of %s answers again", record.version, name)
            elif action == Action.STOP:
                log.warning("reconcile: %s is %s: stopping what answers", name, record.state.value)
                server.stop()
        except Exception as exc:
            log.exception("reconcile: could not %s %s", action.value, name)
            return f"{type(exc).__name__}: {exc}"
        return None

    def _observe(self, record: DeploymentRecord, action: Action, answer: Answer, error: str | None) -> None:
        if error is not None:
            health, detail = Health.DOWN, error[:2000]
        elif record.state != DeploymentState.SERVING:
            health, detail = Health.DOWN, f"{record.state.value}: nothing answers"
        elif action == Action.DEPLOY:
            health, detail = Health.UP, f"restarted version {record.version}"
        else:
            health, detail = (Health.UP if answer.healthy else Health.DOWN), answer.detail
        self._store.observe(record.key, self._lease.holder, health, detail,
                            restarted=action == Action.DEPLOY and error is None)

    def _stop_unwanted(self, key: DeploymentKey) -> None:
        """Stop a server of this process that no record keeps here (none, not serving, or another
        replica's now)."""
        with self._guard.try_hold(key) as held:
            if not held:
                return
            fresh = self._store.get(key)
            if (fresh is not None and fresh.state == DeploymentState.SERVING
                    and fresh.holder == self._lease.holder):
                return  # recorded meanwhile (a run deployed it): it is wanted
            log.warning("reconcile: %s serves here but no record keeps it here: stopping it", key)
            self._local.stop(key)
