"""The GitHub side of a run: refetch the PR, open a check run, hand over to the pipeline,
close the check run. The pipeline itself is pluggable (``Pipeline``) and knows nothing of
GitHub; this module is the only place that turns its verdict into checks and statuses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.github import GitHubApp, InstallationAPI, Repo
from bot.store import RunRecord, RunState, RunStore
from bot.worker import RunOutcome

log = logging.getLogger(__name__)

CHECK_NAME = {"staging": "modelgate / staging", "production": "modelgate / production"}
STATUS_CONTEXT = {"staging": "modelgate/staging", "production": "modelgate/production"}


@dataclass(frozen=True)
class Verdict:
    """What a pipeline concluded, in check-run terms.

    ``status`` is the commit status to set (``success``/``failure``/``error``), or None to
    leave the commit status alone.
    """

    conclusion: str
    title: str
    summary: str
    status: str | None = None
    description: str = ""


class Pipeline(Protocol):
    """Runs the ML pipeline for a run at a resolved commit."""

    def __call__(self, run: RunRecord, sha: str, api: InstallationAPI, repo: Repo) -> Verdict: ...


def pipeline_not_installed(run: RunRecord, sha: str, api: InstallationAPI, repo: Repo) -> Verdict:
    """The verdict of a build without pipelines: received and recorded, nothing judged."""
    return Verdict(
        conclusion="neutral",
        title=f"{run.kind} run {run.id} recorded",
        summary=(
            f"modelgate received `{run.trigger}` for `{sha[:7]}` and recorded run {run.id}. "
            f"This build has no {run.kind} pipeline, so nothing was trained or judged."
        ),
    )


def external_id(run: RunRecord) -> str:
    """The check run's ``external_id``: ties a GitHub check run to one of our runs."""
    return f"modelgate-run-{run.id}"


class RunProcessor:
    """Handles one claimed run end to end (the worker pool's ``RunHandler``)."""

    def __init__(
        self, github: GitHubApp, runs: RunStore, pipeline: Pipeline = pipeline_not_installed
    ) -> None:
        self._github = github
        self._runs = runs
        self._pipeline = pipeline

    def __call__(self, run: RunRecord) -> RunOutcome:
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        sha, skip = self._resolve_sha(api, repo, run)
        if skip is not None:
            return skip
        assert sha is not None
        check_id = self._open_check_run(api, repo, run, sha)
        verdict = self._pipeline(run, sha, api, repo)
        api.update_check_run(
            repo, check_id, status="completed", conclusion=verdict.conclusion,
            output={"title": verdict.title, "summary": verdict.summary},
        )
        if verdict.status is not None:
            api.set_status(
                repo, sha, state=verdict.status, context=STATUS_CONTEXT[run.kind],
                description=verdict.description or verdict.title,
            )
        state = RunState.SUCCEEDED if verdict.conclusion in {"success", "neutral"} else RunState.FAILED
        result = {"sha": sha, "conclusion": verdict.conclusion, "title": verdict.title}
        return RunOutcome(state, result=result)

    def report_abandoned(self, run: RunRecord) -> None:
        """Close the check run of a run whose worker died for good, so nothing stays pending."""
        check_id = run.github_refs.get("check_run_id")
        sha = run.github_refs.get("sha") or run.head_sha
        if check_id is None or sha is None:
            return
        repo = Repo.parse(run.repository)
        api = self._github.for_repository(run.repository, run.installation_id)
        message = run.error or "the worker processing this run stopped responding"
        api.update_check_run(
            repo, int(check_id), status="completed", conclusion="failure",
            output={"title": "modelgate run abandoned", "summary": message},
        )
        api.set_status(repo, sha, state="error", context=STATUS_CONTEXT[run.kind], description=message)

    def _resolve_sha(
        self, api: InstallationAPI, repo: Repo, run: RunRecord
    ) -> tuple[str | None, RunOutcome | None]:
        """The commit to run on; or an outcome when the PR moved on or closed."""
        if run.pr_number is None or run.kind != "staging":
            return run.head_sha, None
        pull = api.get_pull(repo, run.pr_number)
        head = str(pull["head"]["sha"])
        if pull.get("state") != "open":
            return None, RunOutcome(RunState.CANCELLED, error=f"pull request #{run.pr_number} is closed")
        if run.head_sha is not None and run.head_sha != head:
            return None, RunOutcome(RunState.SUPERSEDED, error=f"superseded by {head[:7]}")
        return head, None

    def _open_check_run(self, api: InstallationAPI, repo: Repo, run: RunRecord, sha: str) -> int:
        """Our in-progress check run for this run, created at most once across retries."""
        known = run.github_refs.get("check_run_id")
        if known is not None and run.github_refs.get("sha") == sha:
            api.update_check_run(repo, int(known), status="in_progress")
            return int(known)
        check_id = api.create_check_run(
            repo, name=CHECK_NAME[run.kind], head_sha=sha, external_id=external_id(run),
            status="in_progress",
            output={"title": f"{run.kind} run {run.id}", "summary": f"Started by `{run.trigger}`."},
        )
        self._runs.remember(run.id, "sha", sha)
        self._runs.remember(run.id, "check_run_id", check_id)
        return check_id
