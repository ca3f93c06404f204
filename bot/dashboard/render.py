"""The dashboard issue's body from what the store and GitHub say: pure rendering, every untrusted text
(pull request titles, branch names, error lines) escaped so it shows as text and can neither mention,
link nor break the layout."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.dashboard.checkbox import RETRAIN_LINE
from bot.feedback.names import DASHBOARD_MARKER

TITLE = "modelgate dashboard"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


@dataclass(frozen=True)
class Champion:
    """The model's champion and where it serves."""

    model: str
    version: int | None
    url: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Outcome:
    """One production or scheduled run's promotion decision."""

    run_id: int
    when: datetime | None
    trigger: str  # "merge of #12", "schedule", "push", ...
    sha: str | None
    state: str  # promoted, rejected, failed
    version: int | None
    deltas: Sequence[tuple[str, float]] = ()  # metric, candidate minus champion (None: no champion)


@dataclass(frozen=True)
class OpenPull:
    """An open pull request and its latest staging verdict on its head."""

    number: int
    title: str
    verdict: str | None  # passed, failed, error; None: not run on its head yet
    summary: str | None = None


@dataclass(frozen=True)
class DashboardView:
    """Everything the dashboard shows."""

    champion: Champion
    outcomes: Sequence[Outcome] = ()
    history_plot: str | None = None
    pulls: Sequence[OpenPull] = ()
    next_run: tuple[datetime, str] | None = None  # when, and the cron expression
    notes: Sequence[str] = field(default_factory=list)


def escape(text: str) -> str:
    """``text`` as literal markdown on one line: markdown punctuation backslashed, then HTML's ``&<>``
    as entities and ``@`` as one (no mention)."""
    flat = " ".join(str(text).split())
    return html.escape(_MARKDOWN.sub(r"\\\1", flat), quote=False).replace("@", "&#64;")


def render(view: DashboardView) -> str:
    """The issue body: marker, champion, next run and the checkbox, outcomes, open pull requests, plot."""
    parts = [DASHBOARD_MARKER, "## Champion", _champion(view.champion),
             "## Continuous training", _next_run(view.next_run), RETRAIN_LINE,
             "## Recent promotions and rejections", _outcomes(view.outcomes),
             "## Open pull requests", _pulls(view.pulls)]
    if view.history_plot:
        parts += ["## Champion history", f"![Metric history of the promoted versions]({view.history_plot})"]
    parts.append("<sub>Kept up to date by modelgate after every production and scheduled run; edits other "
                 "than ticking the checkbox are overwritten.</sub>")
    return "\n\n".join(parts) + "\n"


def render_off() -> str:
    """The body a dashboard is left with, closed, when ``dashboard: false`` turns it off (no checkbox)."""
    return (f"{DASHBOARD_MARKER}\n\nThis dashboard is off: the default branch's `.modelgate.yml` says "
            "`dashboard: false`. Remove that line to have it back (this issue is reopened and kept up to "
            "date again).\n")


def _champion(champion: Champion) -> str:
    model = f"`{champion.model}`" if "`" not in champion.model else escape(champion.model)
    if champion.version is None:
        return f"{model} has no champion yet."
    where = f" serving at {champion.url}" if champion.url else " (not served by modelgate)"
    target = f" ({escape(champion.target)})" if champion.target and champion.url else ""
    return f"{model} version **{champion.version}**{where}{target}."


def _next_run(next_run: tuple[datetime, str] | None) -> str:
    if next_run is None:
        return "No schedule: add `schedule:` to the default branch's `.modelgate.yml` to retrain on fresh "\
            "data."
    when, cron = next_run
    return f"Next scheduled run: **{when:%Y-%m-%d %H:%M} UTC** (`{cron}`)."


def _outcomes(outcomes: Sequence[Outcome]) -> str:
    if not outcomes:
        return "None yet."
    rows = ["| When (UTC) | Run | Trigger | Commit | Outcome | Metric changes vs the champion |",
            "| --- | --- | --- | --- | --- | --- |"]
    for item in outcomes:
        when = f"{item.when:%Y-%m-%d %H:%M}" if item.when else ""
        outcome = f"promoted as version {item.version}" if item.state == "promoted" else item.state
        deltas = ", ".join(f"{escape(name)} {value:+.4f}" for name, value in item.deltas) or "no champion"
        sha = f"`{item.sha[:7]}`" if item.sha and item.sha.isalnum() else ""
        rows.append(f"| {when} | {item.run_id} | {escape(item.trigger)} | {sha} | {outcome} | {deltas} |")
    return "\n".join(rows)


def _pulls(pulls: Sequence[OpenPull]) -> str:
    if not pulls:
        return "None."
    rows = ["| Pull request | Staging verdict |", "| --- | --- |"]
    for pull in pulls:
        verdict = "not run on its head yet" if pull.verdict is None else pull.verdict
        if pull.summary:
            verdict += f": {escape(pull.summary)}"
        rows.append(f"| #{pull.number} {escape(pull.title)} | {verdict} |")
    return "\n".join(rows)
