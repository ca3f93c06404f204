"""The staging run of a pull request, from claim to verdict.

1. pending status + in-progress check run at once (when the SHA is known from the webhook and
   the PR is not from a fork: nothing says "training" for untrusted code);
2. refetch the PR: closed → stop; head moved → superseded; older runs of the PR → superseded;
3. ``decide_staging`` (bot.runs.decisions) on the fetched facts: untrusted code (a fork's PR;
   with ``require_approval: first_time`` on the default branch, a first-time contributor's too)
   runs only when a maintainer approved this very SHA (``/retrain`` or a check button:
   ``StagingJob.approved_sha``); otherwise nothing is fetched or run and the check run asks
   for a maintainer (``action_required``, status pending);
4. read ``.modelgate.yml`` at the SHA (invalid → failure with every message); a draft skips
   when it says ``run_on_draft: false``;
5. fetch the tarball, hand a job to the executor, watch for a cancel request;
6. map the result to a check conclusion and a commit status;
7. the dashboard issue shows the verdict (best effort, as the default branch's configuration says).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace
from functools import partial

from bot.dashboard.keeper import Dashboard
from bot.feedback.check_run import RunReporter, start_reporter
from bot.feedback.messages import (
    crash_report,
    report_for,
    skipped_draft,
    staging_in_progress,
    stopped_report,
    waiting_for_approval,
)
from bot.feedback.published_report import ReportPublisher, commit_url
from bot.github import Repo
from bot.github.clients import ClientFactory, StagingClient
from bot.runs.decisions import FIRST_TIMERS, StagingAction, StagingFacts, decide_staging
from bot.runs.outcome import RunOutcome, Stop
from bot.runs.pipeline import PipelineRunner, stored_result
from bot.runs.repo_config import DEFAULT_APPROVAL, approval_rule, read_config, rules_config
from bot.runs.retry import Retry
from bot.store import AcknowledgementStore, RunRecord, RunState, RunStore, StagingJob
from pipelines.config import ModelgateConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Target:
    """What a run works on: the commit, whether its PR is a draft, the commit's web page, and
    who wrote it (a fork? the author's association; the base's default branch)."""

    sha: str
    draft: bool
    commit_url: str | None
    fork: bool = False
    association: str | None = None
    default_branch: str | None = None


class StagingRun:
    """Handles claimed staging runs (a ``RunHandler`` for the worker pool)."""

    def __init__(
        self, github: ClientFactory[StagingClient], runs: RunStore, runner: PipelineRunner,
        publisher: ReportPublisher, acknowledgements: AcknowledgementStore,
        dashboard: Dashboard | None = None,
    ) -> None:
        self._github, self._runs, self._runner, self._publisher = github, runs, runner, publisher
        self._acks, self._dashboard = acknowledgements, dashboard

    def __call__(self, run: RunRecord) -> RunOutcome:
        run = self._acks.settled(run)  # its "queued" check run, if the acknowledger is writing it now
        if run.pr_number is None and run.head_sha:  # e.g. Re-run pressed on a fork PR's check run
            pr = self._runs.pr_of_commit(run.kind, run.repository, run.head_sha)
            run = replace(run, pr_number=pr) if pr is not None else run
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        job = run.job_as(StagingJob)
        reporter: RunReporter | None = None
        if run.head_sha and not job.draft and not job.fork:
            reporter = self._start(api, repo, run, run.head_sha)
        try:
            target = self._resolve(api, repo, run)
            sha = target.sha
            facts = self._facts(api, repo, run, target)
            decision = decide_staging(facts)
            if decision.action == StagingAction.WAIT_FOR_APPROVAL:
                if reporter is None or reporter.sha != sha:
                    reporter = RunReporter(api, repo, self._runs, run, sha)  # created by finish
                waiting = waiting_for_approval(sha, decision.reason)
                raise Stop(RunState.CANCELLED, "waiting for approval", waiting)
            if not target.draft and (reporter is None or reporter.sha != sha):
                reporter = self._start(api, repo, run, sha)
            try:
                config = read_config(api, repo, sha)
            except Stop:
                reporter = reporter or self._start(api, repo, run, sha)
                raise
            decision = decide_staging(replace(facts, run_on_draft=config.run_on_draft))
            if decision.action == StagingAction.SKIP_DRAFT:
                raise Stop(RunState.CANCELLED, decision.reason, skipped_draft())
            if reporter is None or reporter.sha != sha:
                reporter = self._start(api, repo, run, sha)
            return self._execute(api, repo, run, target, config, reporter)
        except Stop as stop:
            if reporter is not None:
                reporter.finish(stop.report)
                if stop.state == RunState.FAILED:  # a verdict on the PR (e.g. invalid config)
                    self._publisher.comment(api, repo, run, stop.report.summary)
            return RunOutcome(stop.state, error=stop.reason)
        except Retry:
            raise  # back to the queue: the check run stays in progress
        except Exception as exc:
            if reporter is not None:
                reporter.finish(crash_report(f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            shutil.rmtree(self._runner.run_dir(run), ignore_errors=True)

    def _start(self, api: StagingClient, repo: Repo, run: RunRecord, sha: str) -> RunReporter:
        return start_reporter(RunReporter(api, repo, self._runs, run, sha),
                              staging_in_progress())

    def _resolve(self, api: StagingClient, repo: Repo, run: RunRecord) -> _Target:
        """The commit to run on and whether the PR is a draft; Stop if the PR moved on."""
        sha, draft, url = run.head_sha, bool(run.job_as(StagingJob).draft), None
        fork, association, default = False, None, None
        if run.pr_number is not None:
            pull = api.get_pull(repo, run.pr_number)
            head = str(pull["head"]["sha"])
            if pull.get("state") != "open":
                raise Stop(RunState.CANCELLED, f"pull request #{run.pr_number} is closed")
            if sha is not None and sha != head:
                raise Stop(RunState.SUPERSEDED, f"superseded by {head[:7]}")
            sha, draft = head, bool(pull.get("draft"))
            base = (pull.get("base") or {}).get("repo") or {}
            url = commit_url(pull, head)
            head_repo = (pull["head"].get("repo") or {}).get("full_name")  # None: fork deleted
            fork = head_repo is None or str(head_repo).lower() != str(base.get("full_name") or repo).lower()
            association = pull.get("author_association")
            default = base.get("default_branch") or (pull.get("base") or {}).get("ref")
            self._supersede_older(api, repo, run, head)
        if sha is None:
            raise Stop(RunState.CANCELLED, "no commit to run on")
        return _Target(sha, draft, url, fork, association, default)

    def _facts(self, api: StagingClient, repo: Repo, run: RunRecord, target: _Target) -> StagingFacts:
        """What ``decide_staging`` needs. A maintainer approves one SHA (``StagingJob.approved_sha``);
        ``require_approval`` comes from the DEFAULT branch, never from the PR (which could turn the
        rule off), and is read only when the author is a first-time contributor."""
        rule = DEFAULT_APPROVAL
        if target.association in FIRST_TIMERS:
            rule = approval_rule(rules_config(api, repo, target.default_branch))
        return StagingFacts(
            sha=target.sha, on_pull_request=run.pr_number is not None,
            approved_sha=run.job_as(StagingJob).approved_sha, fork=target.fork,
            author_association=target.association, approval_rule=rule, draft=target.draft,
        )

    def _supersede_older(self, api: StagingClient, repo: Repo, run: RunRecord, head: str) -> None:
        """Supersede the PR's runs at other SHAs: running ones stop (their workers report it); queued ones
        acknowledged at intake get their "queued" check run and status closed here."""
        superseded, stopping = self._runs.supersede(
            "staging", run.repository, run.pr_number, head, except_run=run.id
        )
        for other in [*superseded, *stopping]:
            if other.id != run.id:
                log.info("run %d superseded by run %d (%s)", other.id, run.id, head[:7])
        for other in superseded:
            refs = other.github_refs
            if other.id != run.id and refs.get("check_run_id") is not None and refs.get("sha"):
                report = stopped_report(f"superseded by {head[:7]}", superseded=True)
                RunReporter(api, repo, self._runs, other, str(refs["sha"])).finish(report)

    def _execute(
        self, api: StagingClient, repo: Repo, run: RunRecord, target: _Target, config: ModelgateConfig,
        reporter: RunReporter,
    ) -> RunOutcome:
        sha = target.sha
        use_cache = not run.job_as(StagingJob).force
        finished = self._runner.execute(
            api, repo, run, sha, config, use_cache=use_cache, from_fork=target.fork,
            on_progress=partial(reporter.progress, staging_in_progress()))
        result = finished.result
        report = report_for(result.as_dict(), result.summary_line(), finished.steps)
        rendered = self._publisher.render(
            finished.output_dir, finished.log, target.commit_url, result.mlflow_experiment_id
        )
        text = rendered.check_text if rendered else report.text
        reporter.finish(replace(report, text=finished.check_text(text)))
        self._publisher.comment(api, repo, run, rendered.comment if rendered else report.summary)
        state = RunState.FAILED if result.status == "error" else RunState.SUCCEEDED
        outcome = RunOutcome(state, result=stored_result(result, sha), error=result.error)
        self._show(api, repo, replace(run, head_sha=sha, result=outcome.result), target.default_branch)
        return outcome

    def _show(self, api: StagingClient, repo: Repo, run: RunRecord, default_branch: str | None) -> None:
        """Best effort, once the verdict is posted: the dashboard issue (as the DEFAULT branch's configuration
        has it, never the PR's) shows it."""
        if self._dashboard is None or not default_branch:
            return
        try:
            rules = rules_config(api, repo, default_branch)
        except Exception as exc:  # GitHub did not answer: the next refresh shows the verdict
            log.warning("run %d: dashboard not refreshed: %s: %s", run.id, type(exc).__name__, exc)
            return
        if rules is not None:
            self._dashboard.refresh(api, repo, rules, run)
