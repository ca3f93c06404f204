"""Production checks what it promotes: as the run starts, GitHub must vouch for the commit, whatever
the webhook said (a forged, stale or replayed delivery trains and promotes nothing).

- A run of a PR (its merge, or Re-run on the production check) refetches the PR: it must be merged
  into the default branch, with exactly this commit as its ``merge_commit_sha`` (``verify_merge``).
- A run without a PR (a push with ``production.on_push``, a re-run) compares the default branch
  with the commit: it must be on that branch (``verify_push``).

A refused commit gets a failed ``modelgate / production`` check run saying why (unless GitHub does
not know the commit at all: there is nothing to put a check run on) and the run fails; nothing else
is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.feedback.check_run import RunReporter
from bot.feedback.outcomes import unverified_commit
from bot.github import Repo
from bot.github.clients import CheckWriter, ProvenanceReader
from bot.runs.decisions import MergedPull, Provenance, verify_merge, verify_push
from bot.runs.outcome import RunOutcome
from bot.store import RunRecord, RunState, RunStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unverified:
    """Why GitHub does not vouch for a commit, with what the message names."""

    problem: Provenance
    pr: int | None = None
    merge_sha: str | None = None
    branch: str | None = None


def verify_commit(api: ProvenanceReader, repo: Repo, run: RunRecord, sha: str) -> Unverified | None:
    """None when GitHub vouches for promoting ``sha`` from ``run``; otherwise why not."""
    if run.pr_number is not None:
        found = api.find_pull(repo, run.pr_number)
        pull = _merged_pull(found) if found is not None else None
        problem = verify_merge(sha, pull)
        if problem == Provenance.VERIFIED:
            return None
        return Unverified(problem, run.pr_number, pull.merge_commit_sha if pull else None,
                          pull.default_branch if pull else None)
    branch = str(api.get_repository(repo).get("default_branch") or "")
    comparison = api.compare_commits(repo, branch, sha) if branch else None
    problem = verify_push(str(comparison.get("status")) if comparison is not None else None)
    return None if problem == Provenance.VERIFIED else Unverified(problem, branch=branch)


def _merged_pull(pull: dict[str, Any]) -> MergedPull:
    base = pull.get("base") or {}
    return MergedPull(merged=bool(pull.get("merged")), merge_commit_sha=pull.get("merge_commit_sha"),
                      base_ref=base.get("ref"), default_branch=(base.get("repo") or {}).get("default_branch"))


def refuse_unverified(
    api: CheckWriter, repo: Repo, runs: RunStore, run: RunRecord, sha: str, unverified: Unverified
) -> RunOutcome:
    """Fail the run and say why on the commit's production check run (when GitHub knows the commit)."""
    report = unverified_commit(sha, unverified.problem.value, unverified.pr, unverified.merge_sha,
                               unverified.branch)
    log.warning("run %d refused: %s", run.id, report.description)
    if unverified.problem != Provenance.UNKNOWN_COMMIT:
        try:
            RunReporter(api, repo, runs, run, sha).finish(report)
        except Exception:  # e.g. a forged SHA GitHub does not know: the run's error still says why
            log.warning("run %d: could not report the refusal on %s", run.id, sha[:7], exc_info=True)
    return RunOutcome(RunState.FAILED, error=report.description)
