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
Approval (``decide_approval``): a maintainer's ``/retrain`` approves the head that was waiting when
the comment was written, never a head pushed after it.
Provenance (``verify_merge``, ``verify_push``): production promotes only the merge commit of a PR
that GitHub says is merged into the default branch, or a commit on the default branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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


def untrusted_reason(fork: bool, author_association: str | None, approval_rule: str) -> str | None:
    """Why a PR's code waits for a maintainer (e.g. "comes from a fork"); None: it may run."""
    if fork:
        return "comes from a fork"
    if author_association in FIRST_TIMERS and approval_rule == "first_time":
        return "is by a first-time contributor"
    return None


def decide_staging(facts: StagingFacts) -> StagingDecision:
    """Run, wait for a maintainer's approval of this SHA, or skip a draft."""
    if facts.on_pull_request and facts.approved_sha != facts.sha:
        reason = untrusted_reason(facts.fork, facts.author_association, facts.approval_rule)
        if reason is not None:
            return StagingDecision(StagingAction.WAIT_FOR_APPROVAL, reason)
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


class ApprovalAction(StrEnum):
    """What a maintainer's ``/retrain`` approves."""

    APPROVE = "approve"  # the head that waited when the comment was written is still the PR's head
    HEAD_MOVED = "head moved"  # the PR moved on since: its newer head is not approved
    UNKNOWN = "unknown"  # no head is known from before the comment: nothing is approved


@dataclass(frozen=True)
class HeadApproval:
    """The action and the head that waited when the maintainer acted (None when unknown)."""

    action: ApprovalAction
    seen: str | None = None


def decide_approval(
    acted_at: datetime | None, heads: Sequence[tuple[str, datetime]], current: str
) -> HeadApproval:
    """Which head a maintainer's comment approves. ``acted_at``: the comment's ``created_at``
    (GitHub's clock, whole seconds); ``heads``: the PR's heads as (sha, seen_at), each seen no
    earlier than it was pushed; ``current``: the PR's head now.

    The head that waited is the newest one seen at or before ``acted_at``: one seen later, even
    within that second, counts as pushed after the comment. It is approved only while it is still
    the PR's head. Two different heads seen at the same instant leave it unknown."""
    if acted_at is None:
        return HeadApproval(ApprovalAction.UNKNOWN)
    before = [(seen_at, sha) for sha, seen_at in heads if seen_at <= acted_at]
    if not before:
        return HeadApproval(ApprovalAction.UNKNOWN)
    newest = max(seen_at for seen_at, _ in before)
    shas = {sha for seen_at, sha in before if seen_at == newest}
    if len(shas) > 1:
        return HeadApproval(ApprovalAction.UNKNOWN)
    (seen,) = shas
    if seen != current:
        return HeadApproval(ApprovalAction.HEAD_MOVED, seen)
    return HeadApproval(ApprovalAction.APPROVE, seen)


class Provenance(StrEnum):
    """Whether GitHub, asked as the production run starts, vouches for the commit it would promote."""

    VERIFIED = "verified"
    NO_PULL = "no pull request"
    NOT_MERGED = "not merged"
    OTHER_MERGE_COMMIT = "other merge commit"
    OTHER_BASE = "merged into another branch"
    OFF_DEFAULT_BRANCH = "not on the default branch"
    UNKNOWN_COMMIT = "unknown commit"


@dataclass(frozen=True)
class MergedPull:
    """A PR as GitHub returns it now: whether it is merged, its merge commit, its base branch and
    the repository's default branch."""

    merged: bool
    merge_commit_sha: str | None
    base_ref: str | None
    default_branch: str | None


ON_BRANCH = frozenset({"identical", "behind"})  # GitHub's compare status of ``branch...sha``


def verify_merge(sha: str, pull: MergedPull | None) -> Provenance:
    """A run of a PR promotes ``sha`` only if GitHub says the PR is merged into the default branch
    with exactly that merge commit (``pull`` None: GitHub has no such PR)."""
    if pull is None:
        return Provenance.NO_PULL
    if not pull.merged:
        return Provenance.NOT_MERGED
    if pull.merge_commit_sha != sha:
        return Provenance.OTHER_MERGE_COMMIT
    if pull.base_ref is None or pull.base_ref != pull.default_branch:
        return Provenance.OTHER_BASE
    return Provenance.VERIFIED


def verify_push(comparison: str | None) -> Provenance:
    """A run without a PR (a push, a re-run) promotes its commit only if it is on the default branch:
    ``comparison`` is GitHub's status of ``default...sha`` (None: GitHub does not know the commit)."""
    if comparison is None:
        return Provenance.UNKNOWN_COMMIT
    return Provenance.VERIFIED if comparison in ON_BRANCH else Provenance.OFF_DEFAULT_BRANCH
