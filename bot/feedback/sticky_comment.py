"""The sticky PR comment: one per PR and pipeline kind, found by a hidden marker and edited
in place, with the previous run folded underneath. Pure string work, no I/O."""

from __future__ import annotations

from bot.feedback.names import marker
from reports.markdown import COMMENT_LIMIT

PREVIOUS = "<!-- modelgate:previous -->"


def current_part(body: str, kind: str) -> str:
    """The current report inside an existing sticky comment (without marker and previous run)."""
    text = body.replace(marker(kind), "", 1)
    return text.split(PREVIOUS, 1)[0].strip()


def sticky_body(kind: str, report: str, previous_body: str | None = None,
                limit: int = COMMENT_LIMIT) -> str:
    """The comment body: marker, this run's report, then the previous run folded.

    The previous run is dropped first when the whole would exceed ``limit``; the report
    itself must already fit (the renderer truncates it gracefully).
    """
    head = f"{marker(kind)}\n{report.strip()}\n"
    if previous_body:
        previous = current_part(previous_body, kind)
        if previous:
            folded = f"\n{PREVIOUS}\n<details><summary>Previous run</summary>\n\n{previous}\n\n</details>\n"
            if len(head) + len(folded) <= limit:
                return head + folded
    return head[:limit]
