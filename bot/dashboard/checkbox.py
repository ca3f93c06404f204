"""The dashboard's "retrain now" checkbox: its line, and whether an edit ticked it. Pure string work."""

from __future__ import annotations

import re

from bot.feedback.names import DASHBOARD_MARKER, RETRAIN_MARKER

RETRAIN_LINE = f"- [ ] Retrain now: run the production pipeline on the default branch's head {RETRAIN_MARKER}"
_BOX = re.compile(r"^\s*[-*]\s+\[(?P<mark>[ xX])\]\s.*" + re.escape(RETRAIN_MARKER), re.MULTILINE)


def box_state(body: str | None) -> bool | None:
    """Whether the dashboard ``body``'s checkbox is ticked (None: the body has no dashboard checkbox)."""
    if not body or DASHBOARD_MARKER not in body:
        return None
    found = _BOX.search(body)
    return None if found is None else found.group("mark") in "xX"


def ticked(before: str | None, after: str | None) -> bool:
    """Whether an edit from ``before`` to ``after`` ticked the checkbox (an unticked box became ticked);
    any other edit, and an edit GitHub reported without the previous body, is not a request."""
    return box_state(before) is False and box_state(after) is True


def unticked(body: str) -> str:
    """``body`` with its checkbox unticked (unchanged when it has none)."""
    found = _BOX.search(body)
    if found is None:
        return body
    return body[:found.start("mark")] + " " + body[found.end("mark"):]
