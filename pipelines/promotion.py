"""Promotion and rollback of registered model versions (the production pipeline's last step on merge).

A merge SHA is promoted exactly once: its version carries the tag ``modelgate.merge_sha`` and a
retry finds it instead of registering a second version. A scheduled run (which may train the same
commit again on fresh data) is promoted once under its own key, the tag ``modelgate.scheduled``.
``champion`` points at the promoted version, ``previous-champion`` at the one it replaced; a rollback
swaps them back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.tracking import _MISSING, CHAMPION_ALIAS, MODEL_URI_TAG, Tracker

PREVIOUS_ALIAS = "previous-champion"
MERGE_SHA_TAG = "modelgate.merge_sha"  # the commit the version was trained from
SCHEDULED_TAG = "modelgate.scheduled"  # the scheduled run that promoted it (its promotion key)
RUN_ID_TAG = "modelgate.run_id"
METRIC_TAG_PREFIX = "modelgate.metric."
PREVIOUS_VERSION_TAG = "modelgate.previous_version"
PROMOTED_AT_TAG = "modelgate.promoted_at"  # set last: the aliases of this version are in place
ROLLED_BACK_BY_TAG = "modelgate.rolled_back_by"
ROLLED_BACK_AT_TAG = "modelgate.rolled_back_at"
DEPLOY_FAILED_TAG = "modelgate.deploy_failed"
READY_TIMEOUT_SECONDS = 300


class PromotionError(Exception):
    """A promotion or rollback that cannot be done (the message names why)."""


@dataclass(frozen=True)
class Promotion:
    """The registered version a merge promoted; ``reused``: the merge SHA was already promoted."""

    model_name: str
    version: int
    previous_version: int | None
    run_id: str
    merge_sha: str
    reused: bool


@dataclass(frozen=True)
class RollbackResult:
    """``champion`` moved from ``from_version`` back to ``to_version``; ``previous_before``: where
    ``previous-champion`` pointed before (what ``undo_rollback`` restores)."""

    model_name: str
    from_version: int
    to_version: int
    previous_before: int | None = None


def promote(
    tracking_uri: str, model_name: str, run_id: str, *, merge_sha: str, tags: Mapping[str, str],
    scheduled: str | None = None,
) -> Promotion:
    """Register the run's logged model for ``merge_sha`` (once; for the scheduled run ``scheduled``: once
    per that run) and make it the champion."""
    keys = {"scheduled": scheduled} if scheduled else {}
    _check_quotable(model_name=model_name, merge_sha=merge_sha, **keys)
    client = Tracker(tracking_uri).client
    key = (SCHEDULED_TAG, scheduled) if scheduled else (MERGE_SHA_TAG, merge_sha)
    version = _version_for(client, model_name, key)
    reused = version is not None
    if version is None:
        version = _register(client, model_name, run_id, merge_sha, tags, key)
    previous = _finish_aliases(client, model_name, version)
    return Promotion(model_name=model_name, version=int(version.version), previous_version=previous,
                     run_id=str(version.run_id), merge_sha=merge_sha, reused=reused)


def rollback(
    tracking_uri: str, model_name: str, to_version: int | None = None, *, actor: str
) -> RollbackResult:
    """Point ``champion`` at ``to_version`` (default: ``previous-champion``) and remember who did it."""
    client = Tracker(tracking_uri).client
    current = alias_version(client, model_name, CHAMPION_ALIAS)
    if current is None:
        raise PromotionError(f"model {model_name!r} has no champion to roll back from")
    if to_version is None:
        to_version = alias_version(client, model_name, PREVIOUS_ALIAS)
        if to_version is None:
            raise PromotionError(f"model {model_name!r} has no {PREVIOUS_ALIAS} version to roll back to")
    elif not _version_exists(client, model_name, to_version):
        raise PromotionError(f"model {model_name!r} has no version {to_version}")
    if to_version == current:
        raise PromotionError(f"version {to_version} of {model_name!r} is already the champion")
    previous_before = alias_version(client, model_name, PREVIOUS_ALIAS)
    client.set_registered_model_alias(model_name, PREVIOUS_ALIAS, str(current))
    client.set_registered_model_alias(model_name, CHAMPION_ALIAS, str(to_version))
    client.set_model_version_tag(model_name, str(to_version), ROLLED_BACK_BY_TAG, actor)
    client.set_model_version_tag(model_name, str(to_version), ROLLED_BACK_AT_TAG, _now())
    return RollbackResult(model_name=model_name, from_version=current, to_version=to_version,
                          previous_before=previous_before)


def revert(tracking_uri: str, promotion: Promotion, *, reason: str) -> None:
    """Undo a promotion whose deployment failed.

    ``champion`` returns to the version it replaced (is removed if there was none) and
    ``previous-champion`` to the version that one had replaced; the version is marked
    ``modelgate.deploy_failed`` and loses ``promoted_at``, so a retry of the merge promotes it again.
    Aliases someone moved since (a later promotion, a rollback) are left alone.
    """
    client = Tracker(tracking_uri).client
    name, number = promotion.model_name, str(promotion.version)
    if alias_version(client, name, CHAMPION_ALIAS) == promotion.version:
        previous = promotion.previous_version
        if previous is None:
            client.delete_registered_model_alias(name, CHAMPION_ALIAS)
        else:
            client.set_registered_model_alias(name, CHAMPION_ALIAS, str(previous))
            _point(client, name, PREVIOUS_ALIAS,
                   client.get_model_version(name, str(previous)).tags.get(PREVIOUS_VERSION_TAG))
    client.set_model_version_tag(name, number, DEPLOY_FAILED_TAG, reason[:4000] or "deploy failed")
    client.delete_model_version_tag(name, number, PROMOTED_AT_TAG)


def undo_rollback(tracking_uri: str, done: RollbackResult) -> None:
    """Put the aliases back as they were before ``done`` (its redeploy failed)."""
    client = Tracker(tracking_uri).client
    if alias_version(client, done.model_name, CHAMPION_ALIAS) != done.to_version:
        return  # moved again since: leave it
    client.set_registered_model_alias(done.model_name, CHAMPION_ALIAS, str(done.from_version))
    _point(client, done.model_name, PREVIOUS_ALIAS, done.previous_before)


def version_tags(tracking_uri: str, model_name: str, version: int) -> dict[str, str]:
    """The tags of one registered version; PromotionError when it does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return dict(Tracker(tracking_uri).client.get_model_version(model_name, str(version)).tags)
    except MlflowException as exc:
        raise PromotionError(f"model {model_name!r} has no version {version}") from exc


def _point(client: Any, model_name: str, alias: str, version: int | str | None) -> None:
    """Set ``alias`` to ``version``, or remove it when ``version`` is None."""
    if version is None or version == "":
        with contextlib.suppress(Exception):  # absent already
            client.delete_registered_model_alias(model_name, alias)
    else:
        client.set_registered_model_alias(model_name, alias, str(version))


def alias_version(client: Any, model_name: str, alias: str) -> int | None:
    """The version behind ``alias``; None for an unknown model or alias."""
    from mlflow.exceptions import MlflowException

    try:
        return int(client.get_model_version_by_alias(model_name, alias).version)
    except MlflowException as exc:
        if exc.error_code in _MISSING:
            return None
        raise


def _version_exists(client: Any, model_name: str, version: int) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(model_name, str(version))
    except MlflowException as exc:
        if exc.error_code in _MISSING:
            return False
        raise
    return True


def _version_for(client: Any, model_name: str, key: tuple[str, str]) -> Any | None:
    """The oldest version registered under ``key`` (tag, value), or None; a merge SHA's key never finds a
    scheduled run's version of that commit."""
    tag, value = key
    found = client.search_model_versions(f"name = '{model_name}' and tag.`{tag}` = '{value}'")
    if tag == MERGE_SHA_TAG:
        found = [v for v in found if SCHEDULED_TAG not in v.tags]
    return min(found, key=lambda v: int(v.version)) if found else None


def _register(
    client: Any, model_name: str, run_id: str, merge_sha: str, tags: Mapping[str, str], key: tuple[str, str]
) -> Any:
    """A new READY version of the run's logged model, tagged; a concurrent twin's version wins."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise PromotionError(f"run {run_id} not found: {str(exc).splitlines()[0]}") from exc
    source = run.data.tags.get(MODEL_URI_TAG)
    if not source:
        raise PromotionError(f"run {run_id} has no {MODEL_URI_TAG} tag: no logged model to promote")
    metrics = {f"{METRIC_TAG_PREFIX}{key.removeprefix('candidate.')}": str(value)
               for key, value in run.data.metrics.items() if key.startswith("candidate.")}
    version_tags = {**tags, **metrics, MERGE_SHA_TAG: merge_sha, RUN_ID_TAG: run_id, key[0]: key[1]}
    try:
        client.get_registered_model(model_name)
    except MlflowException as exc:
        if exc.error_code not in _MISSING:
            raise
        _create_registered_model(client, model_name)
    version = client.create_model_version(model_name, source=source, run_id=run_id, tags=version_tags,
                                          await_creation_for=READY_TIMEOUT_SECONDS)
    if version.status != "READY":
        raise PromotionError(f"version {version.version} of {model_name!r} is {version.status}, not READY")
    first = _version_for(client, model_name, key)
    if first is not None and first.version != version.version:  # another job promoted this key too
        client.delete_model_version(model_name, version.version)
        return first
    return version


def _create_registered_model(client: Any, model_name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(model_name)
    except MlflowException as exc:  # a concurrent job created it first
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def _finish_aliases(client: Any, model_name: str, version: Any) -> int | None:
    """Move the aliases to ``version`` unless already done (``promoted_at``); the replaced champion.

    A promoted version's aliases are never touched again, so a late retry cannot undo a later
    promotion or a rollback.
    """
    number = int(version.version)
    if PROMOTED_AT_TAG in version.tags:
        previous = version.tags.get(PREVIOUS_VERSION_TAG)
        return int(previous) if previous else None
    champion = alias_version(client, model_name, CHAMPION_ALIAS)
    if champion == number:  # an earlier attempt moved the aliases and stopped before the last tag
        previous = alias_version(client, model_name, PREVIOUS_ALIAS)
    else:
        previous = champion
        if previous is not None:
            client.set_registered_model_alias(model_name, PREVIOUS_ALIAS, str(previous))
        client.set_registered_model_alias(model_name, CHAMPION_ALIAS, str(number))
    if previous is not None:
        client.set_model_version_tag(model_name, str(number), PREVIOUS_VERSION_TAG, str(previous))
    client.set_model_version_tag(model_name, str(number), PROMOTED_AT_TAG, _now())
    return previous


def _check_quotable(**values: str) -> None:
    """Values go into an MLflow filter string between single quotes."""
    for name, value in values.items():
        if not value or "'" in value or "`" in value:
            raise PromotionError(f"{name} {value!r} cannot be used (empty or quoted)")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
