"""Pressing check buttons in the sandbox: "Re-run", a check run's action, "Re-run all checks".
Each sends a signed, corpus-shaped webhook; only users with write access may press them."""

from __future__ import annotations

from typing import Any

import pytest

from github_standin.client import SandboxError
from tests.fixtures.standin import SandboxHandle, WebhookReceiver
from tests.fixtures.standin_repos import NAME, OWNER, REPO, Seeded, corpus, seed

RETRAIN = {"label": "Retrain", "description": "Run staging again on this commit",
           "identifier": "retrain"}
OPTIONAL = frozenset({"organization"})  # sandbox owners are users, not organizations


def _check_run(sandbox: SandboxHandle, sha: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "modelgate / staging", "head_sha": sha, "status": "completed",
            "conclusion": "success", "actions": [RETRAIN],
            "output": {"title": "ok", "summary": "ok"}, **fields}
    response = sandbox.rest().post(f"{REPO}/check-runs", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _missing(expected: dict[str, Any], actual: dict[str, Any]) -> set[str]:
    return set(expected) - set(actual) - OPTIONAL


@pytest.fixture
def seeded(sandbox: SandboxHandle, webhook_receiver: WebhookReceiver) -> Seeded:
    seeded = seed(sandbox)
    sandbox.client.set_permission(OWNER, NAME, "bob", "write")
    sandbox.client.set_permission(OWNER, NAME, "carol", "read")
    sandbox.set_webhook_url(webhook_receiver.url)
    return seeded


def test_rerun_sends_check_run_rerequested(sandbox: SandboxHandle, seeded: Seeded,
                                           webhook_receiver: WebhookReceiver) -> None:
    run = _check_run(sandbox, seeded.head_sha)
    answer = sandbox.client.rerun_check(OWNER, NAME, run["id"], "bob")
    assert [d["status"] for d in answer["deliveries"]] == [200]
    (delivery,) = webhook_receiver.deliveries
    assert delivery.signature_valid and delivery.event == "check_run"
    payload = delivery.payload
    expected = corpus("check_run.rerequested.1")
    assert payload["action"] == "rerequested" and not _missing(expected, payload)
    assert not _missing(expected["check_run"], payload["check_run"])
    assert not _missing(expected["check_run"]["check_suite"], payload["check_run"]["check_suite"])
    check = payload["check_run"]
    assert (check["id"], check["head_sha"], check["name"]) == (run["id"], seeded.head_sha,
                                                               "modelgate / staging")
    assert check["app"]["id"] == sandbox.app_id
    assert [p["number"] for p in check["pull_requests"]] == [seeded.number]
    suite = check["check_suite"]
    assert (suite["id"], suite["head_branch"], suite["head_sha"]) == (
        run["check_suite"]["id"], "feature", seeded.head_sha)
    assert (suite["status"], suite["conclusion"]) == ("completed", "success")
    assert payload["sender"]["login"] == "bob"
    assert payload["installation"]["id"] == sandbox.installation_id
    assert payload["repository"]["full_name"] == f"{OWNER}/{NAME}"


def test_an_action_button_sends_requested_action(sandbox: SandboxHandle, seeded: Seeded,
                                                 webhook_receiver: WebhookReceiver) -> None:
    run = _check_run(sandbox, seeded.head_sha, status="in_progress", conclusion=None)
    sandbox.client.request_check_action(OWNER, NAME, run["id"], "retrain", OWNER)
    (delivery,) = webhook_receiver.deliveries
    payload = delivery.payload
    expected = corpus("check_run.requested_action.1")
    assert delivery.signature_valid and (delivery.event, payload["action"]) == (
        "check_run", "requested_action")
    assert not _missing(expected, payload) and not _missing(expected["check_run"], payload["check_run"])
    assert payload["requested_action"] == {"identifier": "retrain"}
    assert payload["check_run"]["id"] == run["id"]
    assert payload["check_run"]["check_suite"]["status"] == "in_progress"
    assert payload["sender"]["login"] == OWNER


def test_rerun_all_checks_sends_check_suite_rerequested(sandbox: SandboxHandle, seeded: Seeded,
                                                        webhook_receiver: WebhookReceiver) -> None:
    run = _check_run(sandbox, seeded.head_sha, conclusion="action_required")
    _check_run(sandbox, seeded.head_sha, name="other", conclusion="success")
    sandbox.client.set_permission(OWNER, NAME, "dave", "maintain")
    sandbox.client.rerun_check_suite(OWNER, NAME, run["check_suite"]["id"], "dave")
    (delivery,) = webhook_receiver.deliveries
    payload = delivery.payload
    expected = corpus("check_suite.rerequested.1")
    assert delivery.signature_valid and (delivery.event, payload["action"]) == (
        "check_suite", "rerequested")
    assert not _missing(expected, payload)
    assert not _missing(expected["check_suite"], payload["check_suite"])
    assert not _missing(expected["check_suite"]["head_commit"], payload["check_suite"]["head_commit"])
    suite = payload["check_suite"]
    assert (suite["id"], suite["head_sha"], suite["head_branch"]) == (
        run["check_suite"]["id"], seeded.head_sha, "feature")
    assert (suite["conclusion"], suite["latest_check_runs_count"]) == ("action_required", 2)
    assert suite["app"]["id"] == sandbox.app_id
    assert [p["number"] for p in suite["pull_requests"]] == [seeded.number]
    assert payload["sender"]["login"] == "dave"


def test_only_users_with_write_access_may_press(sandbox: SandboxHandle, seeded: Seeded,
                                                webhook_receiver: WebhookReceiver) -> None:
    run = _check_run(sandbox, seeded.head_sha)
    client = sandbox.client
    presses = [
        lambda user: client.rerun_check(OWNER, NAME, run["id"], user),
        lambda user: client.request_check_action(OWNER, NAME, run["id"], "retrain", user),
        lambda user: client.rerun_check_suite(OWNER, NAME, run["check_suite"]["id"], user),
    ]
    for press in presses:
        for user in ("carol", "alice", "stranger"):  # read-only, PR author, never seen
            with pytest.raises(SandboxError) as refused:
                press(user)
            assert refused.value.status == 403
    assert webhook_receiver.deliveries == []


def test_unknown_buttons_are_refused(sandbox: SandboxHandle, seeded: Seeded,
                                     webhook_receiver: WebhookReceiver) -> None:
    run = _check_run(sandbox, seeded.head_sha)
    running = _check_run(sandbox, seeded.head_sha, status="in_progress", conclusion=None,
                         actions=[])
    client = sandbox.client
    refusals = [
        (422, lambda: client.request_check_action(OWNER, NAME, run["id"], "deploy", "bob")),
        (422, lambda: client.request_check_action(OWNER, NAME, running["id"], "retrain", "bob")),
        (422, lambda: client.rerun_check(OWNER, NAME, running["id"], "bob")),  # not completed
        (404, lambda: client.rerun_check(OWNER, NAME, 9999, "bob")),
        (404, lambda: client.rerun_check_suite(OWNER, NAME, 9999, "bob")),
        (404, lambda: client.rerun_check(OWNER, "nope", run["id"], "bob")),
    ]
    for status, press in refusals:
        with pytest.raises(SandboxError) as refused:
            press()
        assert refused.value.status == status
    assert webhook_receiver.deliveries == []


def test_a_forks_commit_lists_no_pull_request(sandbox: SandboxHandle, seeded: Seeded,
                                              webhook_receiver: WebhookReceiver) -> None:
    sandbox.client.fork(OWNER, NAME, "eve")
    head = sandbox.client.commit("eve", NAME, {"README.md": "# fork\n"}, branch="idea",
                                 author="eve")
    sandbox.client.open_pull(OWNER, NAME, "eve:idea", author="eve")
    webhook_receiver.clear()
    run = _check_run(sandbox, head["sha"])
    sandbox.client.rerun_check(OWNER, NAME, run["id"], OWNER)
    sandbox.client.rerun_check_suite(OWNER, NAME, run["check_suite"]["id"], OWNER)
    check, suite = (d.payload for d in webhook_receiver.deliveries)
    assert check["check_run"]["pull_requests"] == [] and check["check_run"]["head_sha"] == head["sha"]
    assert check["check_run"]["check_suite"]["head_branch"] is None
    assert suite["check_suite"]["pull_requests"] == [] and suite["check_suite"]["head_branch"] is None
    assert check["repository"]["full_name"] == f"{OWNER}/{NAME}"
