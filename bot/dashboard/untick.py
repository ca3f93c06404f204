"""Unticking the dashboard's "retrain now" checkbox as soon as someone ticked it: once their request is
stored (``bot.runs.acknowledger``), and again when its scheduled run starts, in case that did not happen.
The App's own edit comes back as an ``issues.edited`` event sent by its bot, which routing ignores."""

from __future__ import annotations

import logging

from bot.dashboard.checkbox import box_state, unticked
from bot.github import Repo
from bot.github.clients import IssueEditor

log = logging.getLogger(__name__)


def untick(api: IssueEditor, repo: Repo, number: int) -> bool:
    """Untick the checkbox of dashboard issue ``number`` when it is ticked (and the issue is a bot's
    dashboard); whether it was edited."""
    issue = api.get_issue(repo, number)
    if issue is None or (issue.get("user") or {}).get("type") != "Bot":
        return False
    body = str(issue.get("body") or "")
    if box_state(body) is not True:
        return False
    api.edit_issue(repo, number, unticked(body))
    log.info("unticked the retrain-now box of %s#%d", repo, number)
    return True


def untick_quietly(api: IssueEditor, repo: Repo, number: int) -> None:
    """``untick``, best effort: a failure is logged (the next dashboard refresh unticks it anyway)."""
    try:
        untick(api, repo, number)
    except Exception as exc:
        log.warning("could not untick the retrain-now box of %s#%d: %s: %s", repo, number,
                    type(exc).__name__, exc)
