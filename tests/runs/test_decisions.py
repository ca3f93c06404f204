"""Table tests of the run handlers' pure decisions (bot/runs/decisions.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.runs.decisions import (
    Authorization,
    Claim,
    ProductionAction,
    ProductionDecision,
    Refusal,
    StagingAction,
    StagingDecision,
    StagingFacts,
    authorize_command,
    decide_production,
    decide_staging,
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
