"""The decisions of the run handlers, as pure functions of fetched facts: no I/O, frozen results,
table-tested (``tests/runs/test_decisions.py``). Handlers gather the facts from GitHub and the
store, call these, and act on the answer.

Staging (``decide_staging``):
  1. untrusted code waits: on a PR, unless a maintainer approved exactly this SHA, a fork's code
     waits, and with ``require_approval: first_time`` (default branch) a first-time contributor's;
  2. a draft skips when the PR's config says ``run_on_draft: false``;
  3. anything else runs. ``run_on_draft`` is None until the config is read, which happens only
     for code that may run.
Production (``decide_production``):
  1. a commit already promoted, or claimed by another run, is reported, never promoted again;
  2. before the pipeline ran (no result): run it;
  3. a pipeline error fails; failed gates reject (naming the gates); passed gates promote.
Commands (``authorize_command``): unknown → refused; unreadable arguments → refused; a role
below the rule → refused; else allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from bot.commands.base import allows

FIRST_TIMERS = frozenset({"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "NONE"})


class StagingAction(StrEnum):
    """What a staging run does."""

    RUN = "run"
    WAIT_FOR_APPROVAL = "wait for approval"
    SKIP_DRAFT = "skip draft"


@dataclass(frozen=True)
class StagingFacts:
    """What the staging decision needs, as fetched: the PR's head, who wrote it, the rules."""

    sha: str
    on_pull_request: bool
    approved_sha: str | None
    fork: bool
    author_association: str | None
    approval_rule: str  # require_approval on the default branch: "forks" | "first_time"
    draft: bool
    run_on_draft: bool | None = None  # from the PR's .modelgate.yml; None: not read yet


@dataclass(frozen=True)
class StagingDecision:
    """The action and, when the run waits, why (e.g. "comes from a fork")."""

    action: StagingAction
    reason: str = ""


def decide_staging(facts: StagingFacts) -> StagingDecision:
    """Run, wait for a maintainer's approval of this SHA, or skip a draft."""
    if facts.on_pull_request and facts.approved_sha != facts.sha:
        if facts.fork:
            return StagingDecision(StagingAction.WAIT_FOR_APPROVAL, "comes from a fork")
        if facts.author_association in FIRST_TIMERS and facts.approval_rule == "first_time":
            return StagingDecision(StagingAction.WAIT_FOR_APPROVAL, "is by a first-time contributor")
    if facts.draft and facts.run_on_draft is False:
        return StagingDecision(StagingAction.SKIP_DRAFT, "draft pull request (run_on_draft: false)")
    return StagingDecision(StagingAction.RUN)


class ProductionAction(StrEnum):
    """What a production run does with its commit."""

    ALREADY_DONE = "already done"
    RUN_PIPELINE = "run pipeline"
    PROMOTE = "promote"
    REJECT = "reject"
    FAIL = "fail"


class Claim(StrEnum):
    """Where the promotion of (model, commit) stands for this run."""

    OURS = "ours"  # this run owns the claim: go on
    PROMOTED = "promoted"  # promoted already (by any run)
    OTHER_RUN = "other run"  # another run holds it and it is not ours to take over


@dataclass(frozen=True)
class ProductionDecision:
    """The action; for a rejection, the reasons of the failed gates."""

    action: ProductionAction
    reasons: tuple[str, ...] = ()


def decide_production(
    claim: Claim, result_status: str | None = None, failed_gates: Sequence[str] = ()
) -> ProductionDecision:
    """Report a commit handled already, run the pipeline, or promote / reject / fail on its result.
    ``result_status``: the pipeline's ``passed`` | ``failed`` | ``error``; None before it ran."""
    match claim:
        case Claim.PROMOTED | Claim.OTHER_RUN:
            return ProductionDecision(ProductionAction.ALREADY_DONE)
        case Claim.OURS:
            pass
        case _:
            assert_never(claim)
    if result_status is None:
        return ProductionDecision(ProductionAction.RUN_PIPELINE)
    if result_status == "error":
        return ProductionDecision(ProductionAction.FAIL)
    if result_status != "passed":
        return ProductionDecision(ProductionAction.REJECT, tuple(failed_gates))
    return ProductionDecision(ProductionAction.PROMOTE)


class Refusal(StrEnum):
    """Why a command line does not run."""

    UNKNOWN = "unknown command"
    ARGUMENTS = "unreadable arguments"
    PERMISSION = "permission"


@dataclass(frozen=True)
class Authorization:
    """Whether a command may run; when not, which rule refused it."""

    allowed: bool
    refusal: Refusal | None = None


def authorize_command(need: str | None, argument_error: str | None, have: str) -> Authorization:
    """May this command line run? ``need``: the permission the default branch's rule (or the
    command) requires, None when no command has that name; ``have``: the commenter's role."""
    if need is None:
        return Authorization(False, Refusal.UNKNOWN)
    if argument_error:
        return Authorization(False, Refusal.ARGUMENTS)
    if not allows(have, need):
        return Authorization(False, Refusal.PERMISSION)
    return Authorization(True)
