"""The ``mlflow-serve`` deployments this process serves (its switches and scoring servers), as the
reconcile loop sees them."""

from __future__ import annotations

from bot.store import DeploymentKey
from pipelines.serving import BlueGreen

TARGET = "mlflow-serve"


class ProcessServers:
    """This process's blue/green deployments, keyed like recorded deployments."""

    def served(self) -> list[DeploymentKey]:
        """The (repository, model, ``mlflow-serve``) keys this process serves."""
        return [(repository, model, TARGET) for repository, model in BlueGreen.serving_keys()]

    def stop(self, key: DeploymentKey) -> None:
        """Stop serving ``key``'s model here."""
        BlueGreen.stop_key((key[0], key[1]))
