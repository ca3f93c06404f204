"""What modelgate writes on a GitHub Deployment of the ``production`` environment: the
deployment's description and its statuses' descriptions. One pure function per message."""

from __future__ import annotations


def promotion_deployment(model: str, version: int) -> str:
    """The description of the deployment of a newly promoted version."""
    return f"{model} version {version}"


def rollback_deployment(model: str, version: int, actor: str) -> str:
    """The description of the deployment of a version restored by a rollback (``actor``: who asked)."""
    return f"rollback of {model} to version {version} by {actor}"


def deploying(version: int) -> str:
    """The deployment status while the deployer runs."""
    return f"deploying version {version}"


def deploy_error(version: int, error: str) -> str:
    """The deployment status when the version did not deploy: the error's first line."""
    return f"version {version}: {(error.splitlines() or [''])[0]}"
