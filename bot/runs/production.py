"""The production run of a merge commit, from claim to promotion and deployment.

1. direct pushes run only with ``production.on_push`` and when no PR merged that commit; GitHub
   must vouch for the commit (``provenance``: the PR merged as exactly it, or it is on the default
   branch), else the run fails with a check run saying why;
2. pending status + in-progress check run ``modelgate / production`` on the commit;
3. ``.modelgate.yml`` at the commit; claim the promotion of (model, commit) — a commit already
   promoted is reported, never promoted again;
4. the production pipeline (production data, candidate vs champion on the same rows, gates);
5. gates passed and the App's rules admit it (``Admission``: the model name is this repository's,
   the serving port is allowed and free; else it is refused, promoting nothing) → register and
   promote (``champion``/``previous-champion``), deploy, GitHub Deployment; a failed deploy puts
   the champion back. The verdict and the outcome line go to the check run, the status and a
   sticky ``<!-- modelgate:production -->`` comment on the PR.

Runs of one repository are claimed one at a time in merge order (``RunStore.claim``), and a
run holds its model's lock (``model:<name>``, ``LockStore``) from evaluation to deployment, so
each compares against the champion the one before left, whichever repository or replica.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from bot.dashboard.keeper import Dashboard
from bot.deployments.keeper import DeploymentKeeper, deployment_key
from bot.feedback import outcomes
from bot.feedback.check_report import CheckReport
from bot.feedback.check_run import RunReporter, start_reporter
from bot.feedback.deployments import promotion_deployment
from bot.feedback.messages import crash_report, production_in_progress, report_for
from bot.feedback.published_report import ReportPublisher, commit_url
from bot.github import Repo
from bot.github.clients import ClientFactory, ProductionClient
from bot.runs.admission import Admission, Refusal
from bot.runs.decisions import Claim, ProductionAction, decide_production
from bot.runs.outcome import RunOutcome, Stop
from bot.runs.pipeline import Finished, PipelineRunner, repository_policy, stored_result
from bot.runs.provenance import refuse_unverified, verify_commit
from bot.runs.release import Target, deploy_version
from bot.runs.repo_config import read_config
from bot.runs.retry import Retry
from bot.schedules.sync import sync_schedules
from bot.store import (
    Desired,
    LockStore,
    LockWaitStopped,
    PromotionRecord,
    PromotionState,
    PromotionStore,
    RunRecord,
    RunState,
    RunStore,
    ScheduleStore,
)
from bot.store.types import utc_now
from pipelines.config import ModelgateConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionOutcome:
    """How a production run ended for the model: promotion state, version and one line for people."""

    state: PromotionState
    line: str
    version: int | None = None
    report: CheckReport | None = None  # replaces the pipeline verdict's report (a failed deploy)
    title: str | None = None  # replaces the verdict's check title ("Promoted as version 7")
    deployment: Desired | None = None  # what now serves, recorded with the promotion


class ProductionRun:
    """Handles claimed production runs (a ``RunHandler`` for the worker pool)."""

    def __init__(
        self, github: ClientFactory[ProductionClient], runs: RunStore, promotions: PromotionStore,
        locks: LockStore, runner: PipelineRunner, publisher: ReportPublisher, admission: Admission,
        keeper: DeploymentKeeper, *, serve_logs: Path, schedules: ScheduleStore | None = None,
        dashboard: Dashboard | None = None,
    ) -> None:
        self._github, self._runs, self._promotions, self._locks = github, runs, promotions, locks
        self._runner, self._publisher, self._admission = runner, publisher, admission
        self._keeper = keeper
        self._serve_logs = serve_logs  # scoring-server logs, under the App's data dir
        self._schedules, self._dashboard = schedules, dashboard

    def _sync(
        self, api: ProductionClient, repo: Repo, run: RunRecord, config: ModelgateConfig | None
    ) -> None:
        """Store the schedules of the default branch's new configuration; show them on the dashboard."""
        if self._schedules is None:
            return
        sync_schedules(self._schedules, run.repository, run.installation_id, config, utc_now())
        if config is not None and self._dashboard is not None:
            self._dashboard.refresh(api, repo, config, run)

    def __call__(self, run: RunRecord) -> RunOutcome:
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        begun = self._begin(api, repo, run)
        if isinstance(begun, RunOutcome):
            return begun
        sha, known = begun
        reporter = start_reporter(RunReporter(api, repo, self._runs, run, sha),
                                  production_in_progress())
        try:
            config = known or read_config(api, repo, sha)
            with self._model_lock(config.model.name, run):
                outcome = self._run(api, repo, run, sha, config, reporter)
            self._settled(api, repo, replace(run, result=outcome.result, finished_at=utc_now()), config)
            return outcome
        except Stop as stop:
            reporter.finish(stop.report)
            if stop.state == RunState.FAILED:
                self._publisher.comment(api, repo, run, stop.report.summary)
            return RunOutcome(stop.state, error=stop.reason)
        except Retry:
            raise  # back to the queue: the check run stays in progress
        except Exception as exc:
            reporter.finish(crash_report(f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            shutil.rmtree(self._runner.run_dir(run), ignore_errors=True)

    def _begin(
        self, api: ProductionClient, repo: Repo, run: RunRecord
    ) -> RunOutcome | tuple[str, ModelgateConfig | None]:
        """The commit to run on and its configuration if already read; or how the run ends before it starts
        (a push that does not run production, a commit GitHub does not vouch for)."""
        sha = run.head_sha
        if sha is None:
            return RunOutcome(RunState.CANCELLED, error="no commit to run on")
        pushed: ModelgateConfig | None = None
        if run.trigger == "push":
            skip, pushed = self._push_skip(api, repo, run, sha)
            if skip:
                log.info("run %d: %s", run.id, skip)
                return RunOutcome(RunState.CANCELLED, error=skip)
        unverified = verify_commit(api, repo, run, sha)  # GitHub, not the webhook, vouches for the commit
        if unverified is not None:
            return refuse_unverified(api, repo, self._runs, run, sha, unverified)
        return sha, pushed

    def _settled(self, api: ProductionClient, repo: Repo, run: RunRecord, config: ModelgateConfig) -> None:
        """After the outcome (``run`` with its result, not yet stored): the dashboard issue shows it."""
        if self._dashboard is not None:
            self._dashboard.refresh(api, repo, config, run)

    def _promotion_key(self, run: RunRecord, sha: str) -> str:
        """What is promoted once: the commit (a merge, a push)."""
        return sha

    @contextlib.contextmanager
    def _model_lock(self, model_name: str, run: RunRecord) -> Iterator[None]:
        """Hold the model's lock (one production run per model, across repositories and replicas)."""
        name = f"model:{model_name}"
        try:
            self._locks.wait(name, run.id, lambda: self._runs.cancel_reason(run.id))
        except LockWaitStopped as stopped:
            raise Stop(RunState.CANCELLED, str(stopped)) from None
        try:
            yield
        finally:
            self._locks.release(name, run.id)

    def _push_skip(
        self, api: ProductionClient, repo: Repo, run: RunRecord, sha: str
    ) -> tuple[str | None, ModelgateConfig | None]:
        """Why a push to the default branch does not run production (None: it does), and the
        commit's configuration when it was read. The default branch's schedules follow its configuration."""
        try:
            config = read_config(api, repo, sha)
        except Stop:
            self._sync(api, repo, run, None)
            return "push: .modelgate.yml is missing or invalid", None
        self._sync(api, repo, run, config)
        if not config.production.on_push:
            return "push: production.on_push is off", config
        merged = [p for p in api.pulls_for_commit(repo, sha) if p.get("merge_commit_sha") == sha]
        if merged:
            return f"push: the merge commit of PR #{merged[0]['number']} (its merge runs production)", config
        return None, config

    def _run(
        self, api: ProductionClient, repo: Repo, run: RunRecord, sha: str, config: ModelgateConfig,
        reporter: RunReporter,
    ) -> RunOutcome:
        promotion = self._claim(config.model.name, self._promotion_key(run, sha), run)
        if decide_production(_claim_of(promotion, run)).action == ProductionAction.ALREADY_DONE:
            return self._duplicate(promotion, reporter)
        pull = api.get_pull(repo, run.pr_number) if run.pr_number is not None else {}
        key = deployment_key(run.repository, config.model.name, config.deploy.kind)
        try:
            finished = self._runner.execute(
                api, repo, run, sha, config,
                on_progress=partial(reporter.progress, production_in_progress()))
            with self._keeper.deploying(key):  # until the deployment is recorded with the promotion
                outcome = self._decide(api, repo, run, sha, config, finished, pull)
                self._promotions.settle(promotion.id, outcome.state, outcome.version,
                                        also=self._keeper.recorder(outcome.deployment))
        except BaseException:
            self._promotions.settle(promotion.id, PromotionState.FAILED)
            raise
        result = finished.result
        report = outcome.report or report_for(result.as_dict(), result.summary_line(), finished.steps)
        report = outcomes.with_outcome(report, outcome.line, outcome.title)
        rendered = self._publisher.render(finished.output_dir, finished.log, commit_url(pull, sha),
                                          result.mlflow_experiment_id, outcome=outcome.line)
        text = rendered.check_text if rendered else report.text
        reporter.finish(replace(report, text=finished.check_text(text)))
        self._publisher.comment(api, repo, run, rendered.comment if rendered else report.summary)
        state = RunState.FAILED if result.status == "error" else RunState.SUCCEEDED
        production = {"state": outcome.state.value, "version": outcome.version, "outcome": outcome.line}
        plot = rendered.plots.get("history") if rendered else None
        return RunOutcome(state, result=stored_result(result, sha, production=production, history_plot=plot),
                          error=result.error)

    def _claim(self, model_name: str, sha: str, run: RunRecord) -> PromotionRecord:
        """This run's claim on promoting ``sha``, or the record that already decided it."""
        promotion, _ = self._promotions.claim(model_name, sha, run.id)
        if promotion.state != PromotionState.PROMOTED and promotion.run_id != run.id:
            return self._promotions.reopen(promotion, run.id) or promotion
        return promotion

    def _duplicate(self, promotion: PromotionRecord, reporter: RunReporter) -> RunOutcome:
        """The commit was promoted already (a redelivery, a re-run): say so, promote nothing."""
        if promotion.state == PromotionState.PROMOTED:
            line = outcomes.already_promoted(promotion.version, promotion.run_id)
        else:
            line = outcomes.already_handled(promotion.run_id, promotion.state.value)
        reporter.finish(outcomes.duplicate_report(reporter.sha, promotion.model_name, line,
                                                  promotion.state == PromotionState.PROMOTED))
        production = {"state": promotion.state.value, "version": promotion.version, "outcome": line}
        return RunOutcome(RunState.SUCCEEDED, result={"sha": reporter.sha, "verdict": "duplicate",
                                                      "production": production})

    def _decide(
        self, api: ProductionClient, repo: Repo, run: RunRecord, sha: str, config: ModelgateConfig,
        finished: Finished, pull: dict[str, Any],
    ) -> PromotionOutcome:
        """Promote and deploy when the gates passed; otherwise say why not."""
        result = finished.result
        failed_gates = [str(g.get("reason")) for g in result.gates if not g.get("passed")]
        decision = decide_production(Claim.OURS, result.status, failed_gates)
        if decision.action == ProductionAction.FAIL:
            return PromotionOutcome(PromotionState.FAILED, outcomes.not_promoted_error())
        if decision.action == ProductionAction.REJECT:
            line = outcomes.not_promoted_gates(list(decision.reasons))
            return PromotionOutcome(PromotionState.REJECTED, line)
        admitted = self._admission.admit(run.repository, config, run.id, result.champion_version)
        if isinstance(admitted, Refusal):  # the model name or the serving port is not this repository's
            line = outcomes.not_promoted_refused(admitted.reason)
            return PromotionOutcome(PromotionState.REJECTED, line, report=outcomes.refused_report(line))
        from pipelines.deploy import DeployError
        from pipelines.promotion import promote, revert

        merged_by = str((pull.get("merged_by") or {}).get("login") or "")
        tags = {"modelgate.repository": run.repository, "modelgate.pr": str(run.pr_number or ""),
                "modelgate.merged_by": merged_by, "modelgate.config_hash": config.config_hash(),
                "modelgate.trigger": run.trigger}
        tracking_uri = self._runner.options.tracking_uri
        key = self._promotion_key(run, sha)
        promoted = promote(tracking_uri, config.model.name, str(result.mlflow_run_id), merge_sha=sha,
                           tags={k: v for k, v in tags.items() if v}, scheduled=None if key == sha else key)
        target = Target(api, repo, sha, config, finished.source, admitted.address)
        try:
            deployed = deploy_version(target, tracking_uri, promoted.version, promoted.run_id,
                                      description=promotion_deployment(config.model.name, promoted.version),
                                      payload={"previous_version": promoted.previous_version,
                                               "pr": run.pr_number}, serve_logs=self._serve_logs,
                                      policy=repository_policy(self._runner.options, run.repository),
                                      handover_seconds=self._keeper.handover_seconds,
                                      ray_serve=self._runner.options.ray_serve)
        except DeployError as exc:
            revert(tracking_uri, promoted, reason=str(exc))
            failed = outcomes.deploy_failed(promoted.version, promoted.previous_version, str(exc))
            return PromotionOutcome(PromotionState.FAILED, failed.description, promoted.version, failed)
        line = outcomes.promoted(promoted.version, promoted.previous_version, deployed.detail)
        return PromotionOutcome(PromotionState.PROMOTED, line, promoted.version,
                                title=outcomes.promoted_title(promoted.version),
                                deployment=deployed.desired(run.repository, config.model.name))


def _claim_of(promotion: PromotionRecord, run: RunRecord) -> Claim:
    """Where the promotion record stands for ``run``."""
    if promotion.state == PromotionState.PROMOTED:
        return Claim.PROMOTED
    return Claim.OURS if promotion.run_id == run.id else Claim.OTHER_RUN
