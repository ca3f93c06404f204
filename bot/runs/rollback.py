"""Rolling production back: ``modelgate rollback`` (and ChatOps' ``/rollback``) queue a
``rollback`` run; a worker — the long-lived process that owns the model servers — moves
``champion`` back, redeploys that version and records a GitHub Deployment.

Rollback runs are claimed in order with the repository's production runs (``RunStore.claim``),
so a rollback never interleaves with a promotion. A failed redeploy puts the aliases back.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bot.deployments.keeper import DeploymentKeeper, deployment_key
from bot.feedback.deployments import rollback_deployment
from bot.feedback.replies import redeploy_failed, rollback_done, rollback_failed
from bot.github import Repo
from bot.github.clients import ClientFactory, RollbackClient
from bot.runs.admission import Admission, Refusal
from bot.runs.outcome import RunOutcome, Stop
from bot.runs.pipeline import RunOptions, repository_policy
from bot.runs.release import Target, deploy_version
from bot.runs.repo_config import read_config
from bot.runs.source import fetch_source
from bot.store import TERMINAL, JobRequest, RollbackJob, RunRecord, RunState, RunStore


def request_rollback(
    runs: RunStore, tracking_uri: str, model_name: str, to_version: int | None, actor: str,
    *, repository: str | None = None, installation_id: int | None = None, trigger: str = "cli.rollback",
    reply_to: int | None = None,
) -> RunRecord:
    """Queue a rollback of ``model_name``; the repository comes from its champion's tags unless given.
    With ``reply_to`` (a PR number) the worker comments there how it went."""
    from pipelines.promotion import PromotionError, alias_version, version_tags
    from pipelines.tracking import CHAMPION_ALIAS, Tracker

    if repository is None:
        champion = alias_version(Tracker(tracking_uri).client, model_name, CHAMPION_ALIAS)
        if champion is None:
            raise PromotionError(f"model {model_name!r} has no champion to roll back from")
        repository = version_tags(tracking_uri, model_name, champion).get("modelgate.repository")
        if not repository:
            raise PromotionError(f"version {champion} of {model_name!r} has no modelgate.repository tag: "
                                 "it was not promoted by modelgate")
    job = RollbackJob(model=model_name, to_version=to_version, actor=actor, reply_to=reply_to)
    return runs.enqueue(JobRequest(repository, installation_id, None, None, trigger, job))


def wait_for(runs: RunStore, run_id: int, timeout: float, poll: float = 0.2) -> RunRecord | None:
    """The run once it is finished, or None if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = runs.get(run_id)
        if run is not None and run.state in TERMINAL:
            return run
        time.sleep(poll)
    return None


class RollbackRun:
    """Handles claimed rollback runs (a ``RunHandler`` for the worker pool)."""

    def __init__(
        self, github: ClientFactory[RollbackClient], options: RunOptions, admission: Admission,
        keeper: DeploymentKeeper, *, serve_logs: Path,
    ) -> None:
        self._github, self._options, self._admission, self._keeper = github, options, admission, keeper
        self._serve_logs = serve_logs

    def __call__(self, run: RunRecord) -> RunOutcome:
        outcome = self._roll_back(run)
        job = run.job_as(RollbackJob)
        pr = job.reply_to
        if pr is not None:  # asked from a PR (/rollback): say there how it went
            result, model = outcome.result or {}, job.model
            if outcome.state == RunState.SUCCEEDED:
                text = rollback_done(model, int(result["from_version"]), int(result["to_version"]),
                                     str(result.get("detail") or ""))
            else:
                text = rollback_failed(model, str(outcome.error))
            api = self._github.for_repository(run.repository, run.installation_id)
            api.create_comment(Repo.parse(run.repository), int(pr), text)
        return outcome

    def _roll_back(self, run: RunRecord) -> RunOutcome:
        from pipelines.deploy import DeployError
        from pipelines.promotion import (
            MERGE_SHA_TAG,
            RUN_ID_TAG,
            PromotionError,
            rollback,
            undo_rollback,
            version_tags,
        )

        job, uri = run.job_as(RollbackJob), self._options.tracking_uri
        model, actor = job.model, job.actor
        try:
            done = rollback(uri, model, job.to_version, actor=actor)
        except PromotionError as exc:
            return RunOutcome(RunState.FAILED, error=str(exc))
        summary: dict[str, Any] = {"model": model, "from_version": done.from_version,
                                   "to_version": done.to_version, "actor": actor}
        restored = version_tags(uri, model, done.to_version)
        replaced = version_tags(uri, model, done.from_version)
        ref = restored.get(MERGE_SHA_TAG) or replaced.get(MERGE_SHA_TAG)
        folder = self._options.workdir / f"run-{run.id}"
        try:
            if not ref:
                raise DeployError(f"neither version {done.to_version} nor {done.from_version} records "
                                  "its merge commit: nothing to read the deploy settings from")
            repo = Repo.parse(run.repository)
            api = self._github.for_repository(run.repository, run.installation_id)
            config = read_config(api, repo, replaced.get(MERGE_SHA_TAG) or ref)  # the live deploy settings
            folder.mkdir(parents=True, exist_ok=True)
            address = self._admission.serve_address(run.repository, config)  # where this repository serves
            if isinstance(address, Refusal):
                raise DeployError(address.reason)
            command = config.deploy.kind == "command"  # runs in a checkout of the restored commit
            limits = self._options.source_limits
            workdir = fetch_source(api, repo, ref, folder / "src", limits) if command else folder
            target = Target(api, repo, ref, config, workdir, address.address)
            with self._keeper.deploying(deployment_key(run.repository, model, config.deploy.kind)):
                deployed = deploy_version(
                    target, uri, done.to_version, restored.get(RUN_ID_TAG, ""),
                    description=rollback_deployment(model, done.to_version, actor),
                    payload={"rollback_from": done.from_version, "actor": actor}, serve_logs=self._serve_logs,
                    policy=repository_policy(self._options, run.repository),
                    handover_seconds=self._keeper.handover_seconds, ray_serve=self._options.ray_serve,
                )
                self._keeper.record(deployed.desired(run.repository, model))
        except (DeployError, Stop) as exc:
            undo_rollback(uri, done)
            error = exc.reason if isinstance(exc, Stop) else str(exc)
            error = redeploy_failed(error)
            return RunOutcome(RunState.FAILED, result=summary, error=error)
        except BaseException:
            undo_rollback(uri, done)
            raise
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        summary.update(detail=deployed.detail, url=deployed.url)
        return RunOutcome(RunState.SUCCEEDED, result=summary)
