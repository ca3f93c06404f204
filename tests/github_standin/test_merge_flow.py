"""Branch protection and merging, end to end with a real webhook receiver."""

from __future__ import annotations

import pytest

from github_standin.client import SandboxError
from tests.fixtures.standin import SandboxHandle, WebhookReceiver
from tests.fixtures.standin_repos import REPO, seed

BLOCKED = 'Required status check "modelgate/staging" is expected.'


def test_blocked_then_green_then_merged(sandbox: SandboxHandle,
                                        webhook_receiver: WebhookReceiver) -> None:
    seeded = seed(sandbox)
    sandbox.set_webhook_url(webhook_receiver.url)
    rest = sandbox.rest()

    with pytest.raises(SandboxError) as blocked:
        sandbox.client.merge("octo", "hello", seeded.number, author="octo")
    assert blocked.value.status == 405 and blocked.value.body["message"] == BLOCKED
    rest_blocked = rest.put(f"{REPO}/pulls/{seeded.number}/merge", json={})
    assert rest_blocked.status_code == 405 and rest_blocked.json()["message"] == BLOCKED
    assert rest.get(f"{REPO}/pulls/{seeded.number}").json()["mergeable_state"] == "blocked"

    url = f"{REPO}/statuses/{seeded.head_sha}"
    rest.post(url, json={"state": "pending", "context": "modelgate/staging"})
    with pytest.raises(SandboxError, match="is in progress"):
        sandbox.client.merge("octo", "hello", seeded.number)
    rest.post(url, json={"state": "failure", "context": "modelgate/staging"})
    with pytest.raises(SandboxError, match="is failing"):
        sandbox.client.merge("octo", "hello", seeded.number)
    rest.post(url, json={"state": "success", "context": "modelgate/staging"})
    assert rest.get(f"{REPO}/pulls/{seeded.number}").json()["mergeable_state"] == "clean"
    assert webhook_receiver.deliveries == []

    merged = sandbox.client.merge("octo", "hello", seeded.number, author="octo")
    assert merged["merged"] is True
    assert [(d["event"], d["action"], d["status"]) for d in merged["deliveries"]] == [
        ("pull_request", "closed", 200), ("push", None, 200)]
    closed, push = webhook_receiver.deliveries
    assert closed.signature_valid and push.signature_valid
    pr = closed.payload["pull_request"]
    assert (closed.payload["action"], pr["state"], pr["merged"]) == ("closed", "closed", True)
    assert pr["merged_by"]["login"] == "octo" and pr["merge_commit_sha"] == merged["sha"]
    assert push.payload["ref"] == "refs/heads/main"
    assert (push.payload["before"], push.payload["after"]) == (seeded.base_sha, merged["sha"])
    assert push.payload["head_commit"]["modified"] == ["src/model.py"]

    state = sandbox.client.state()
    repo = next(r for r in state["repos"] if r["full_name"] == "octo/hello")
    assert repo["branches"]["main"] == merged["sha"]
    assert repo["commits"][:2] == [merged["sha"], seeded.base_sha]  # parent is the old base
    model = rest.get(f"{REPO}/contents/src/model.py",
                     headers={"Accept": "application/vnd.github.raw+json"})
    assert model.content == b"WEIGHTS = [4, 5, 6]\n"  # the head's tree
    again = rest.put(f"{REPO}/pulls/{seeded.number}/merge", json={})
    assert again.status_code == 405


def test_rest_merge_and_check_run_contexts(sandbox: SandboxHandle,
                                           webhook_receiver: WebhookReceiver) -> None:
    seeded = seed(sandbox)
    sandbox.set_webhook_url(webhook_receiver.url)
    sandbox.client.set_protection("octo", "hello", ["modelgate/staging", "lint"])
    rest = sandbox.rest()
    response = rest.put(f"{REPO}/pulls/{seeded.number}/merge", json={})
    assert response.json()["message"] == "2 of 2 required status checks are expected."
    rest.post(f"{REPO}/check-runs", json={"name": "modelgate/staging", "head_sha": seeded.head_sha,
                                         "conclusion": "success"})
    rest.post(f"{REPO}/check-runs", json={"name": "lint", "head_sha": seeded.head_sha,
                                         "status": "in_progress"})
    assert rest.put(f"{REPO}/pulls/{seeded.number}/merge", json={}).json()["message"] == (
        'Required status check "lint" is in progress.')
    rest.post(f"{REPO}/statuses/{seeded.head_sha}", json={"state": "success", "context": "lint"})
    stale = rest.put(f"{REPO}/pulls/{seeded.number}/merge", json={"sha": "0" * 40})
    assert stale.status_code == 409
    response = rest.put(f"{REPO}/pulls/{seeded.number}/merge",
                        json={"sha": seeded.head_sha, "merge_method": "squash"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["merged"] is True and len(body["sha"]) == 40
    deliveries = webhook_receiver.wait_for(lambda got: len(got) >= 2)
    assert [(d.event, d.action) for d in deliveries] == [("pull_request", "closed"),
                                                         ("push", None)]
    assert deliveries[0].payload["pull_request"]["merged_by"]["login"] == sandbox.bot_login
    pull = rest.get(f"{REPO}/pulls/{seeded.number}").json()
    assert (pull["merged"], pull["merge_commit_sha"], pull["mergeable"]) == (True, body["sha"],
                                                                              None)


def test_protection_can_be_lifted_and_drafts_wait(sandbox: SandboxHandle) -> None:
    sandbox.client.create_repo("octo", "hello", files={"a": "1"})
    sandbox.client.commit("octo", "hello", {"a": "2"}, branch="draft")
    number = sandbox.client.open_pull("octo", "hello", "draft", draft=True)["number"]
    sandbox.client.set_protection("octo", "hello", [])
    with pytest.raises(SandboxError, match="draft"):
        sandbox.client.merge("octo", "hello", number)
    sandbox.client.commit("octo", "hello", {"a": "3"}, branch="ready")
    ready = sandbox.client.open_pull("octo", "hello", "ready")["number"]
    assert sandbox.client.merge("octo", "hello", ready)["merged"] is True
