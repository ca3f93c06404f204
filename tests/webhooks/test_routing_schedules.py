"""Routing of what continuous training listens to, as tables: the dashboard's checkbox (``issues.edited``), a
re-run of the scheduled check, and the App losing repositories."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bot.dashboard.checkbox import RETRAIN_LINE, box_state, ticked
from bot.feedback.names import DASHBOARD_MARKER
from bot.store import InstallJob, ScheduledJob, UninstallJob
from bot.webhooks.routing import route
from tests.fixtures.corpus import CORPUS_APP_ID, deliveries, derive

UNTICKED = f"{DASHBOARD_MARKER}\n## Champion\n\n{RETRAIN_LINE}\n"
TICKED = UNTICKED.replace("- [ ] Retrain now", "- [x] Retrain now")
BOT = {"login": "modelgate[bot]", "id": 99, "type": "Bot"}
PERSON = {"login": "maintainer", "id": 5, "type": "User"}


def issues_edited(before: str | None, after: str, sender: dict[str, Any] = PERSON,
                  author: dict[str, Any] = BOT, action: str = "edited", pull: bool = False) -> bytes:
    """An ``issues`` delivery shaped like GitHub's, from the corpus' issue comment (same repository parts)."""
    base = copy.deepcopy(deliveries()["issue_comment.created.1"].payload())
    issue = {**base["issue"], "body": after, "user": author, "updated_at": "2026-11-30T03:00:00Z"}
    issue.pop("pull_request", None)
    if pull:
        issue["pull_request"] = {"url": f"{base['repository']['url']}/pulls/{issue['number']}"}
    payload = {"action": action, "issue": issue, "repository": base["repository"], "sender": sender,
               "installation": base.get("installation") or {"id": 1}}
    if before is not None:
        payload["changes"] = {"body": {"from": before}}
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (UNTICKED, TICKED, True),
        (UNTICKED, TICKED.replace("[x]", "[X]"), True),
        (TICKED, TICKED, False),  # already ticked: another edit
        (TICKED, UNTICKED, False),  # unticking asks for nothing
        (None, TICKED, False),  # GitHub did not say what it was
        (UNTICKED, UNTICKED + "\nnotes", False),
        (UNTICKED.replace(DASHBOARD_MARKER, ""), TICKED.replace(DASHBOARD_MARKER, ""), False),  # no dashboard
        ("- [ ] Retrain now", "- [x] Retrain now", False),  # a person's lookalike box, no markers
    ],
)
def test_ticking_the_checkbox(before: str | None, after: str, expected: bool) -> None:
    assert ticked(before, after) is expected


@pytest.mark.parametrize(
    ("body", "queues"),
    [
        (issues_edited(UNTICKED, TICKED), True),
        (issues_edited(UNTICKED, TICKED, sender=BOT), False),  # the bot's own edit never loops
        (issues_edited(UNTICKED, TICKED, author=PERSON), False),  # a person's issue copying the dashboard
        (issues_edited(UNTICKED, TICKED, action="opened"), False),
        (issues_edited(TICKED, TICKED), False),
        (issues_edited(UNTICKED, TICKED, pull=True), False),
    ],
)
def test_the_checkbox_queues_a_scheduled_run(body: bytes, queues: bool) -> None:
    routed = route("guid-1", "issues", body, CORPUS_APP_ID)
    assert (routed.job is not None) is queues
    if routed.job is not None:
        assert (routed.job.kind, routed.job.trigger) == ("scheduled", "issues.edited")
        assert routed.job.head_sha is None
        assert isinstance(routed.job.job, ScheduledJob) and routed.job.job.requested_by == "maintainer"
        assert routed.job.job.schedule is None and routed.job.job.fire_at is not None


def test_re_running_the_scheduled_check_asks_for_a_scheduled_run() -> None:
    rerun = derive("check_run.rerequested.1", {"check_run": {"app": {"id": CORPUS_APP_ID},
                                                             "name": "modelgate / scheduled"}})
    job = route(rerun.guid, rerun.event, rerun.body, CORPUS_APP_ID).job
    assert job is not None and (job.kind, job.trigger) == ("scheduled", "check_run.rerequested")
    assert job.head_sha is None
    sender = json.loads(rerun.body)["sender"]["login"]
    assert isinstance(job.job, ScheduledJob) and job.job.requested_by == sender


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("installation_repositories.removed.1", {}, UninstallJob(installation_id=2,
                                                                 repositories=("octocat/Hello-World",))),
        ("installation.deleted.1", {}, UninstallJob(installation_id=2, repositories=None)),
        ("installation.suspend.1", {}, UninstallJob(installation_id=16598467, repositories=None)),
        ("installation.created.1", {}, InstallJob(installation_id=957387,
                                                  repositories=("Codertocat/Hello-World",))),
        ("installation.created.1", {"repositories": []}, InstallJob(installation_id=957387)),  # asks GitHub
        ("installation.suspend.1", {"action": "unsuspend"}, InstallJob(installation_id=16598467)),
        ("installation_repositories.added.1", {}, InstallJob(installation_id=957387,
                                                             repositories=("Codertocat/Space",))),
        ("installation_repositories.added.1", {"repositories_added": []}, None),
        ("installation.new_permissions_accepted.1", {}, None),
    ],
)
def test_the_app_reaching_or_losing_repositories(name: str, change: dict[str, Any], expected: Any) -> None:
    delivery = derive(name, **change) if change else deliveries()[name]
    job = route(delivery.guid, delivery.event, delivery.body, CORPUS_APP_ID).job
    assert (job.job if job is not None else None) == expected
    if job is not None:
        payload = json.loads(delivery.body)
        account, action = payload["installation"]["account"]["login"], payload["action"]
        assert (job.repository, job.trigger) == (f"{account}/*", f"{delivery.event}.{action}")


def test_the_checkbox_names_its_issue() -> None:
    job = route("guid-2", "issues", issues_edited(UNTICKED, TICKED), CORPUS_APP_ID).job
    assert job is not None and isinstance(job.job, ScheduledJob)
    assert job.job.issue == json.loads(issues_edited(UNTICKED, TICKED))["issue"]["number"]


def test_the_dashboard_line_reads_as_unticked() -> None:
    assert (box_state(UNTICKED), box_state(TICKED), box_state("no dashboard")) == (False, True, None)
