"""Unticking the dashboard's "retrain now" checkbox as soon as someone ticked it: once their request is
stored (``bot.runs.acknowledger``), and again when its scheduled run starts, in case that did not happen.
The App's own edit comes back as an ``issues.edited`` event sent by its bot, which routing ignores."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

from bot.dashboard.checkbox import box_state, unticked
from bot.github import Repo
from bot.github.clients import IssueEditor
from bot.store import IncomingDelivery, ScheduledJob

log = logging.getLogger(__name__)


class Tick(NamedTuple):
    """A stored tick of a dashboard's checkbox: which issue to untick, through which installation."""

    repository: str
    installation_id: int | None
    issue: int


def ticks_in(fresh: Sequence[IncomingDelivery]) -> list[Tick]:
    """The checkbox ticks among newly stored deliveries (whether their run was queued or joined one)."""
    return [Tick(d.job.repository, d.job.installation_id, d.job.job.issue) for d in fresh
            if d.job is not None and isinstance(d.job.job, ScheduledJob) and d.job.job.issue is not None]


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
