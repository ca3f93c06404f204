"""Table tests of the run handlers' pure decisions (bot/runs/decisions.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.runs.decisions import (
    ApprovalAction,
    Authorization,
    Claim,
    HeadApproval,
    MergedPull,
    ProductionAction,
    ProductionDecision,
    Provenance,
    Refusal,
    StagingAction,
    StagingDecision,
    StagingFacts,
    authorize_command,
    decide_approval,
    decide_production,
    decide_staging,
    verify_merge,
    verify_push,
)

SHA, OLD = "a" * 40, "b" * 40
SAME_REPO = StagingFacts(sha=SHA, on_pull_request=True, approved_sha=None, fork=False,
                         author_association="MEMBER", approval_rule="forks", draft=False)
RUN = StagingDecision(StagingAction.RUN)
FORK_WAITS = StagingDecision(StagingAction.WAIT_FOR_APPROVAL, "comes from a fork")
NEWCOMER_WAITS = StagingDecision(StagingAction.WAIT_FOR_APPROVAL, "is by a first-time contributor")
DRAFT_SKIPS = StagingDecision(StagingAction.SKIP_DRAFT, "draft pull request (run_on_draft: false)")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, RUN),
        ({"fork": True}, FORK_WAITS),
        ({"fork": True, "approved_sha": SHA}, RUN),
        ({"fork": True, "approved_sha": OLD}, FORK_WAITS),  # an approval is for one SHA only
        ({"fork": True, "on_pull_request": False}, RUN),  # a push to a branch of the repository
        ({"author_association": "FIRST_TIME_CONTRIBUTOR"}, RUN),  # default rule: forks only
        ({"author_association": "FIRST_TIME_CONTRIBUTOR", "approval_rule": "first_time"}, NEWCOMER_WAITS),
        ({"author_association": "FIRST_TIMER", "approval_rule": "first_time"}, NEWCOMER_WAITS),
        ({"author_association": "NONE", "approval_rule": "first_time"}, NEWCOMER_WAITS),
        ({"author_association": "CONTRIBUTOR", "approval_rule": "first_time"}, RUN),
        ({"author_association": "NONE", "approval_rule": "first_time", "approved_sha": SHA}, RUN),
        ({"fork": True, "author_association": "NONE", "approval_rule": "first_time"}, FORK_WAITS),
        ({"draft": True}, RUN),  # the config is not read yet
        ({"draft": True, "run_on_draft": False}, DRAFT_SKIPS),
        ({"draft": True, "run_on_draft": True}, RUN),
        ({"draft": False, "run_on_draft": False}, RUN),
        ({"draft": True, "run_on_draft": False, "fork": True}, FORK_WAITS),  # approval comes first
    ],
)
def test_staging_runs_waits_or_skips(change: dict[str, object], expected: StagingDecision) -> None:
    assert decide_staging(replace(SAME_REPO, **change)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("claim", "status", "gates", "expected"),
    [
        (Claim.PROMOTED, None, (), ProductionDecision(ProductionAction.ALREADY_DONE)),
        (Claim.PROMOTED, "passed", (), ProductionDecision(ProductionAction.ALREADY_DONE)),
        (Claim.OTHER_RUN, None, (), ProductionDecision(ProductionAction.ALREADY_DONE)),
        (Claim.OURS, None, (), ProductionDecision(ProductionAction.RUN_PIPELINE)),
        (Claim.OURS, "passed", (), ProductionDecision(ProductionAction.PROMOTE)),
        (Claim.OURS, "failed", ("f1 below 0.95",),
         ProductionDecision(ProductionAction.REJECT, ("f1 below 0.95",))),
        (Claim.OURS, "error", (), ProductionDecision(ProductionAction.FAIL)),
    ],
)
def test_production_promotes_rejects_or_reports_done(
    claim: Claim, status: str | None, gates: tuple[str, ...], expected: ProductionDecision
) -> None:
    assert decide_production(claim, status, gates) == expected


@pytest.mark.parametrize(
    ("need", "error", "have", "expected"),
    [
        ("write", None, "write", Authorization(True)),
        ("write", None, "admin", Authorization(True)),
        ("write", None, "read", Authorization(False, Refusal.PERMISSION)),
        ("admin", None, "maintain", Authorization(False, Refusal.PERMISSION)),
        ("none", None, "none", Authorization(True)),  # help: anyone who can comment
        ("read", None, "owner", Authorization(False, Refusal.PERMISSION)),  # unknown role allows nothing
        ("write", "No closing quotation", "admin", Authorization(False, Refusal.ARGUMENTS)),
        (None, None, "admin", Authorization(False, Refusal.UNKNOWN)),
        (None, "No closing quotation", "admin", Authorization(False, Refusal.UNKNOWN)),
    ],
)
def test_command_authorization(
    need: str | None, error: str | None, have: str, expected: Authorization
) -> None:
    assert authorize_command(need, error, have) == expected


NEW = "c" * 40
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)  # a comment's created_at: whole seconds, GitHub's clock


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("acted_at", "heads", "current", "expected"),
    [
        # the head that waited when the comment was written is still the head: approved
        (T0, [(OLD, _at(-60))], OLD, HeadApproval(ApprovalAction.APPROVE, OLD)),
        (T0, [(OLD, _at(0))], OLD, HeadApproval(ApprovalAction.APPROVE, OLD)),  # seen at that very instant
        # a push after the comment (seen later, even within the comment's second) is never approved
        (T0, [(OLD, _at(-60)), (NEW, _at(5))], NEW, HeadApproval(ApprovalAction.HEAD_MOVED, OLD)),
        (T0, [(OLD, _at(-60)), (NEW, _at(0.4))], NEW, HeadApproval(ApprovalAction.HEAD_MOVED, OLD)),
        # seen after the comment but not the head any more (a later force-push back): still moved
        (T0, [(OLD, _at(-60)), (NEW, _at(5))], SHA, HeadApproval(ApprovalAction.HEAD_MOVED, OLD)),
        # a push seen before the comment is what the maintainer saw
        (T0, [(OLD, _at(-60)), (NEW, _at(-1))], NEW, HeadApproval(ApprovalAction.APPROVE, NEW)),
        (T0, [(NEW, _at(-1)), (OLD, _at(-60))], NEW, HeadApproval(ApprovalAction.APPROVE, NEW)),  # any order
        (T0, [(OLD, _at(-60)), (NEW, _at(-1))], OLD, HeadApproval(ApprovalAction.HEAD_MOVED, NEW)),
        # a force-push back to the approved commit after the comment: that commit is approved
        (T0, [(OLD, _at(-60)), (NEW, _at(5)), (OLD, _at(9))], OLD, HeadApproval(ApprovalAction.APPROVE, OLD)),
        # the same head seen twice (a redelivery, a reader's /retrain)
        (T0, [(OLD, _at(-60)), (OLD, _at(-30))], OLD, HeadApproval(ApprovalAction.APPROVE, OLD)),
        # nothing known from before the comment: nothing approved
        (T0, [], OLD, HeadApproval(ApprovalAction.UNKNOWN)),
        (T0, [(OLD, _at(0.5))], OLD, HeadApproval(ApprovalAction.UNKNOWN)),
        (None, [(OLD, _at(-60))], OLD, HeadApproval(ApprovalAction.UNKNOWN)),  # a comment of unknown time
        (T0, [(OLD, _at(-1)), (NEW, _at(-1))], NEW, HeadApproval(ApprovalAction.UNKNOWN)),  # which came last?
    ],
    ids=["still-head", "seen-at-comment", "pushed-after", "pushed-same-second", "moved-twice",
         "pushed-before", "unordered-input", "head-went-back", "force-push-back", "seen-twice", "no-heads",
         "only-later-heads", "no-comment-time", "tie"],
)
def test_a_maintainers_comment_approves_the_head_that_waited(
    acted_at: datetime | None, heads: list[tuple[str, datetime]], current: str, expected: HeadApproval
) -> None:
    assert decide_approval(acted_at, heads, current) == expected


MERGED = MergedPull(merged=True, merge_commit_sha=SHA, base_ref="main", default_branch="main")


@pytest.mark.parametrize(
    ("pull", "expected"),
    [
        (MERGED, Provenance.VERIFIED),
        (None, Provenance.NO_PULL),
        (replace(MERGED, merged=False, merge_commit_sha=None), Provenance.NOT_MERGED),
        (replace(MERGED, merged=False), Provenance.NOT_MERGED),  # GitHub's test merge commit of an open PR
        (replace(MERGED, merge_commit_sha=OLD), Provenance.OTHER_MERGE_COMMIT),  # a forged or stale SHA
        (replace(MERGED, merge_commit_sha=None), Provenance.OTHER_MERGE_COMMIT),
        (replace(MERGED, base_ref="release"), Provenance.OTHER_BASE),
        (replace(MERGED, default_branch=None), Provenance.OTHER_BASE),  # cannot tell: refused
    ],
    ids=["merged", "no-pull", "open", "open-with-test-merge", "other-merge-commit", "no-merge-commit",
         "other-base", "no-default-branch"],
)
def test_production_of_a_pull_request_needs_its_merge_commit(pull: MergedPull | None,
                                                             expected: Provenance) -> None:
    assert verify_merge(SHA, pull) == expected


@pytest.mark.parametrize(
    ("comparison", "expected"),
    [
        ("identical", Provenance.VERIFIED),  # the branch's tip
        ("behind", Provenance.VERIFIED),  # an older commit of the branch
        ("ahead", Provenance.OFF_DEFAULT_BRANCH),  # a commit on top of the branch, not on it
        ("diverged", Provenance.OFF_DEFAULT_BRANCH),
        (None, Provenance.UNKNOWN_COMMIT),
    ],
)
def test_production_without_a_pull_request_needs_a_commit_on_the_default_branch(
    comparison: str | None, expected: Provenance
) -> None:
    assert verify_push(comparison) == expected
