"""What a run that deploys (a promotion, a rollback) does with the recorded deployment: it holds the
deployment in this process while it deploys and records (``DeployGuard``), takes its lease over (the
process that deploys a model keeps serving it), and records what it deployed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from sqlalchemy import Connection

from bot.deployments.guard import DeployGuard
from bot.store import DeploymentKey, DeploymentStore, Desired, Lease

NOT_RECORDED = ("none",)  # deploy kinds with nothing to record: promotion only
NOT_KEPT = (*NOT_RECORDED, "command")  # recorded, but nothing of ours keeps them serving


def deployment_key(repository: str, model_name: str, kind: str) -> DeploymentKey:
    """The recorded deployment of a model deployed as ``kind`` (repository names in lower case)."""
    return (repository.lower(), model_name, kind)


class DeploymentKeeper:
    """Records the deployments runs make; one per process, shared with its reconcile loop's guard."""

    def __init__(self, store: DeploymentStore, lease: Lease, guard: DeployGuard) -> None:
        self.store, self.lease, self.guard = store, lease, guard
        # a deploy that takes a deployment over from another process waits this long for its port: that
        # process stops serving it at its next reconcile pass
        self.handover_seconds = lease.seconds

    @contextlib.contextmanager
    def deploying(self, key: DeploymentKey) -> Iterator[None]:
        """Hold ``key`` against this process's reconcile loop, and its lease against other replicas'."""
        with self.guard.hold(key):
            self.store.take(key, self.lease, force=True)  # nothing to take before its first record
            yield

    def recorder(self, desired: Desired | None) -> Callable[[Connection], None] | None:
        """What writes ``desired`` in a caller's transaction (None: nothing to record)."""
        if desired is None or desired.target in NOT_RECORDED:
            return None
        return lambda conn: self.store.record(desired, self.lease, conn)

    def record(self, desired: Desired) -> None:
        """Write ``desired`` in a transaction of its own (a rollback has no promotion row)."""
        if desired.target not in NOT_RECORDED:
            self.store.record(desired, self.lease)
