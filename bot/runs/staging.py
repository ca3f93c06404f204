"""The staging run of a pull request, from claim to verdict.

1. pending status + in-progress check run at once (when the SHA is known from the webhook and
   the PR is not from a fork: nothing says "training" for untrusted code);
2. refetch the PR: closed → stop; head moved → superseded; older runs of the PR → superseded;
3. untrusted code (a fork's PR; with ``require_approval: first_time`` on the default branch, a
   first-time contributor's too) runs only when a maintainer approved this very SHA (``/retrain``
   or a check button: ``StagingJob.approved_sha``); otherwise nothing is fetched or run and the
   check run asks for a maintainer (``action_required``, status pending);
4. read ``.modelgate.yml`` at the SHA (invalid → failure with every message);
5. fetch the tarball, hand a job to the executor, watch for a cancel request;
6. map the result to a check conclusion and a commit status.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, replace

from bot.feedback.check_run import RunReporter, start_reporter
from bot.feedback.messages import (
    crash_report,
    report_for,
    skipped_draft,
    staging_in_progress,
    waiting_for_approval,
)
from bot.feedback.published_report import ReportPublisher, commit_url
from bot.github import GitHubApp, InstallationAPI, Repo
from bot.runs.outcome import RunOutcome, Stop
from bot.runs.pipeline import PipelineRunner, stored_result
from bot.runs.repo_config import read_config, rules_config
from bot.store import RunRecord, RunState, RunStore, StagingJob
from pipelines.config import ModelgateConfig

log = logging.getLogger(__name__)

FIRST_TIMERS = frozenset({"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "NONE"})
DEFAULT_APPROVAL: str = ModelgateConfig.model_fields["require_approval"].default


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
        self, github: GitHubApp, runs: RunStore, runner: PipelineRunner, publisher: ReportPublisher
    ) -> None:
        self._github, self._runs, self._runner, self._publisher = github, runs, runner, publisher

    def __call__(self, run: RunRecord) -> RunOutcome:
        if run.pr_number is None and run.head_sha:  # e.g. Re-run pressed on a fork PR's check run
            pr = self._runs.pr_of_commit(run.kind, run.repository, run.head_sha)
            run = replace(run, pr_number=pr) if pr is not None else run
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        reporter: RunReporter | None = None
        if run.head_sha and not run.job_as(StagingJob).draft and not run.job_as(StagingJob).fork:
            reporter = self._start(api, repo, run, run.head_sha)
        try:
            target = self._resolve(api, repo, run)
            sha, draft = target.sha, target.draft
            why = self._needs_approval(api, repo, run, target)
            if why is not None:
                if reporter is None or reporter.sha != sha:
                    reporter = RunReporter(api, repo, self._runs, run, sha)  # created by finish
                raise Stop(RunState.CANCELLED, "waiting for approval", waiting_for_approval(sha, why))
            if not draft and (reporter is None or reporter.sha != sha):
                reporter = self._start(api, repo, run, sha)
            try:
                config = read_config(api, repo, sha)
            except Stop:
                reporter = reporter or self._start(api, repo, run, sha)
                raise
            if draft and not config.run_on_draft:
                raise Stop(RunState.CANCELLED, "draft pull request (run_on_draft: false)", skipped_draft())
            if reporter is None or reporter.sha != sha:
                reporter = self._start(api, repo, run, sha)
            return self._execute(api, repo, run, target, config, reporter)
        except Stop as stop:
            if reporter is not None:
                reporter.finish(stop.report)
                if stop.state == RunState.FAILED:  # a verdict on the PR (e.g. invalid config)
                    self._publisher.comment(api, repo, run, stop.report.summary)
            return RunOutcome(stop.state, error=stop.reason)
        except Exception as exc:
            if reporter is not None:
                reporter.finish(crash_report(f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            shutil.rmtree(self._runner.run_dir(run), ignore_errors=True)

    def _start(self, api: InstallationAPI, repo: Repo, run: RunRecord, sha: str) -> RunReporter:
        return start_reporter(RunReporter(api, repo, self._runs, run, sha),
                              staging_in_progress())

    def _resolve(self, api: InstallationAPI, repo: Repo, run: RunRecord) -> _Target:
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
            self._supersede_older(run, head)
        if sha is None:
            raise Stop(RunState.CANCELLED, "no commit to run on")
        return _Target(sha, draft, url, fork, association, default)

    def _needs_approval(
        self, api: InstallationAPI, repo: Repo, run: RunRecord, target: _Target
    ) -> str | None:
        """Why this run's code waits for a maintainer, or None when it may run. A maintainer
        approves one SHA (``StagingJob.approved_sha``); each new push needs a new approval."""
        if run.pr_number is None or run.job_as(StagingJob).approved_sha == target.sha:
            return None
        if target.fork:
            return "comes from a fork"
        if target.association in FIRST_TIMERS and self._approval_rule(api, repo, target) == "first_time":
            return "is by a first-time contributor"
        return None

    def _approval_rule(self, api: InstallationAPI, repo: Repo, target: _Target) -> str:
        """``require_approval`` from the DEFAULT branch, never from the PR (which could turn the
        rule off); missing or invalid there → the default (forks)."""
        config = rules_config(api, repo, target.default_branch)
        return config.require_approval if config is not None else DEFAULT_APPROVAL

    def _supersede_older(self, run: RunRecord, head: str) -> None:
        superseded, stopping = self._runs.supersede(
            "staging", run.repository, run.pr_number, head, except_run=run.id
        )
        for other in [*superseded, *stopping]:
            if other.id != run.id:
                log.info("run %d superseded by run %d (%s)", other.id, run.id, head[:7])

    def _execute(
        self, api: InstallationAPI, repo: Repo, run: RunRecord, target: _Target, config: ModelgateConfig,
        reporter: RunReporter,
    ) -> RunOutcome:
        sha = target.sha
        use_cache = not run.job_as(StagingJob).force
        finished = self._runner.execute(api, repo, run, sha, config, use_cache=use_cache)
        result = finished.result
        report = report_for(result.as_dict(), result.summary_line())
        rendered = self._publisher.render(
            finished.output_dir, finished.log, target.commit_url, result.mlflow_experiment_id
        )
        reporter.finish(replace(report, text=rendered.check_text) if rendered else report)
        self._publisher.comment(api, repo, run, rendered.comment if rendered else report.summary)
        state = RunState.FAILED if result.status == "error" else RunState.SUCCEEDED
        return RunOutcome(state, result=stored_result(result, sha), error=result.error)
