"""What a run's check run and commit status say: one pure function per message, from a
pipeline's verdict to a refusal, a stop or a crash (``Report``s and status descriptions).

Production outcome lines live in ``outcomes``, PR comment replies in ``replies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.feedback.check_report import CheckReport
from pipelines.progress import ShownStep
from reports.checks import CHECK_TEXT_LIMIT, check_summary, check_title, escape
from reports.fit import clip
from reports.steps import StepRow, steps_table

CONFIG_HELP = "See the README's `.modelgate.yml` section, or run `modelgate schema`."
APPROVAL_DESCRIPTION = "waiting for a maintainer: comment /retrain to run"


def _step_rows(steps: Sequence[ShownStep]) -> list[StepRow]:
    """The steps as the rows ``reports.steps`` renders."""
    return [(step.name, step.state, step.seconds) for step in steps]


def progress_summary(description: str, steps: Sequence[ShownStep]) -> str:
    """The in-progress check run's summary: what the run does, then its steps so far."""
    return clip(f"{description}\n\n{steps_table(_step_rows(steps))}".strip(), CHECK_TEXT_LIMIT)


def report_for(result: dict[str, Any], summary_line: str, steps: Sequence[ShownStep] = ()) -> CheckReport:
    """The check conclusion and commit status for a finished pipeline.

    passed → success/success; gates failed → failure/failure; a timeout, an invalid
    configuration or requirements that do not resolve or build → failure/failure (the code did run
    or was refused: it is the PR's verdict); any other error (crash, exception in train or data,
    the operator's job secrets) → failure/error.
    """
    summary = check_summary(result, summary_line, steps_table(_step_rows(steps)))
    title = check_title(result, summary_line)
    status = result.get("status")
    if status == "passed":
        return CheckReport("success", "success", title, summary, summary_line)
    if status == "failed":
        return CheckReport("failure", "failure", title, summary, summary_line)
    kind = result.get("error_kind")
    error = str(result.get("error") or "the pipeline failed")
    if kind == "timeout":
        return CheckReport("timed_out", "failure", title, summary, f"timed out: {error}")
    if kind == "config":
        return CheckReport("failure", "failure", title, summary, "invalid .modelgate.yml")
    if kind == "environment":
        return CheckReport("failure", "failure", title, summary, "the environment could not be built")
    return CheckReport("failure", "error", title, summary, f"error: {error}")


def config_report(messages: Sequence[str]) -> CheckReport:
    """A missing or invalid ``.modelgate.yml``: every validation message, verbatim."""
    listed = "\n".join(f"- {escape(m)}" for m in messages)
    summary = f"**modelgate could not read `.modelgate.yml`.**\n\n{listed}\n\n{CONFIG_HELP}"
    return CheckReport("failure", "failure", "Invalid .modelgate.yml", summary, "invalid .modelgate.yml")


def stopped_report(reason: str, superseded: bool) -> CheckReport:
    """A run stopped before its verdict: a newer push, a closed PR, a cancel."""
    summary = f"This run was stopped: {reason}."
    conclusion = "cancelled" if superseded or "closed" in reason else "neutral"
    return CheckReport(conclusion, "error", f"Stopped: {reason}", summary, reason)


def crash_report(error: str) -> CheckReport:
    """modelgate itself failed while handling the run (never leaves the status pending)."""
    summary = (f"modelgate could not finish this run: `{escape(error)}`. Press **Re-run** on this check "
               "to try again.")  # works for staging and production alike (/retrain is staging only)
    return CheckReport("failure", "error", "modelgate error", summary, f"modelgate error: {error}")


def waiting_for_approval(sha: str, why: str) -> CheckReport:
    """Untrusted code (``why``: e.g. "comes from a fork") waits for a maintainer's approval."""
    summary = (
        f"This pull request {why}, so modelgate does not run its code on its own.\n\n"
        f"A user with write permission can comment `/retrain` on the pull request, or press "
        f"**Re-run** (or **Retrain**) on this check, to run staging on this commit (`{sha[:7]}`). "
        "Each new push needs a new approval."
    )
    return CheckReport("action_required", "pending", "Waiting for a maintainer", summary,
                       APPROVAL_DESCRIPTION)


def skipped_draft() -> CheckReport:
    """A draft PR whose ``.modelgate.yml`` says ``run_on_draft: false``: nothing runs until it is ready."""
    return CheckReport(
        "skipped", "success", "Skipped: draft",
        "Drafts do not run (`run_on_draft: false`); marking the PR ready for review runs staging.",
        "skipped: draft (run_on_draft: false)",
    )


def abandoned(message: str) -> CheckReport:
    """A run whose worker died for good (``message``: why), closed so nothing stays pending."""
    summary = f"{message.rstrip('.')}. Press **Re-run** on this check to run it again."
    return CheckReport("failure", "error", "modelgate run abandoned", summary, message)


def queued_description(ahead: int) -> str:
    """The commit status (and check title) of a staging run waiting for a worker."""
    return f"modelgate: queued ({ahead} ahead)"


def staging_in_progress() -> str:
    """The commit status (and check title) while a staging run trains and evaluates."""
    return "modelgate is training and evaluating the candidate"


def production_in_progress() -> str:
    """The commit status (and check title) while a production run trains."""
    return "modelgate is training on production data"
