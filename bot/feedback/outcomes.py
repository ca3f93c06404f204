"""What a production run did to the model, for people: the outcome line (``promoted as version
7 (was version 6); …``, ``not promoted: …``, ``already promoted as …``) and how it marks the run's
check run and commit status. One pure function per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.feedback.check_report import CheckReport

DEPLOY_ERROR_LIMIT = 3000  # the last characters of a deploy error shown in the check run


def not_promoted_error() -> str:
    """The production pipeline itself failed: nothing was promoted."""
    return "not promoted: the production pipeline stopped (error)"


def not_promoted_gates(reasons: Sequence[str]) -> str:
    """The production gates failed: every failed gate's reason, in order."""
    return f"not promoted: {'; '.join(reasons) or 'the gates failed'}"


def promoted(version: int, previous: int | None, detail: str) -> str:
    """A new champion: its version, the one it replaced (if any) and how it is deployed."""
    was = f" (was version {previous})" if previous else ""
    return f"promoted as version {version}{was}; {detail}"


def promoted_title(version: int) -> str:
    """The check run's title once a version is promoted."""
    return f"Promoted as version {version}"


def deploy_failed(version: int, previous: int | None, error: str) -> CheckReport:
    """The promoted version did not deploy: the aliases went back; the deployer's error (its tail)."""
    back = f"champion stays version {previous}" if previous else "there is no champion"
    line = f"not promoted: deploying version {version} failed; {back}"
    output = f"```\n{error[-DEPLOY_ERROR_LIMIT:]}\n```"  # the outcome line goes above it
    return CheckReport("failure", "failure", f"Deploy failed: {back}", output, line)


def already_promoted(version: int | None, run_id: int | None) -> str:
    """The commit was promoted before (a redelivery, a re-run): by which run, as which version."""
    return f"already promoted as version {version} (by run {run_id})"


def already_handled(run_id: int | None, state: str) -> str:
    """Another run decided this commit's promotion without promoting it (``state``: how it ended)."""
    return f"already handled by run {run_id} ({state})"


def duplicate_report(sha: str, model: str, line: str, was_promoted: bool) -> CheckReport:
    """A production run that found its commit already decided (``line``): it did nothing again."""
    summary = f"Commit `{sha[:7]}` of `{model}`: {line}. Nothing was done again."
    title = line[:1].upper() + line[1:]
    return CheckReport("success" if was_promoted else "neutral", "success", title, summary, line)


def with_outcome(report: CheckReport, line: str, title: str | None = None) -> CheckReport:
    """The pipeline's verdict ``report`` with the outcome ``line`` on top of its summary and in its
    commit status (the line's first clause, then the verdict), and ``title`` when given."""
    short = line.split(";")[0]
    description = report.description if short in report.description else f"{short} · {report.description}"
    return replace(report, title=title or report.title, summary=f"**{line}**\n\n{report.summary}",
                   description=description)
