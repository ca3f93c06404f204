"""Webhooks sent by control actions: headers, signatures, order and corpus-shaped payloads."""

from __future__ import annotations

import json
import uuid

import pytest

from github_standin.client import SandboxError
from tests.fixtures.standin import SandboxHandle, WebhookReceiver
from tests.fixtures.standin_repos import corpus, seed


def _missing(expected: dict, actual: dict, optional: frozenset[str] = frozenset()) -> set[str]:
    return set(expected) - set(actual) - optional


def test_headers_signature_and_compact_body(sandbox: SandboxHandle,
                                            webhook_receiver: WebhookReceiver) -> None:
    sandbox.set_webhook_url(webhook_receiver.url)
    sandbox.client.create_repo("octo", "hello", files={"README.md": "hi\n"})
    (delivery,) = webhook_receiver.deliveries
    headers = delivery.headers
    assert delivery.signature_valid
    assert headers["x-github-event"] == "push"
    assert uuid.UUID(headers["x-github-delivery"]).version == 4
    assert headers["x-github-hook-id"]
    assert headers["x-github-hook-installation-target-type"] == "integration"
    assert headers["x-github-hook-installation-target-id"] == str(sandbox.app_id)
    assert headers["user-agent"] == "GitHub-Hookshot/sandbox"
    assert headers["content-type"] == "application/json"
    assert headers["x-hub-signature"].startswith("sha1=")
    assert delivery.body == json.dumps(delivery.payload, separators=(",", ":"),
                                       ensure_ascii=False).encode()
    assert delivery.payload["installation"]["id"] == sandbox.installation_id
    recorded = sandbox.client.state()["deliveries"]
    assert recorded[-1]["guid"] == headers["x-github-delivery"] and recorded[-1]["status"] == 200


def test_every_action_matches_the_corpus_shape(sandbox: SandboxHandle,
                                               webhook_receiver: WebhookReceiver) -> None:
    sandbox.set_webhook_url(webhook_receiver.url)
    seeded = seed(sandbox)
    sandbox.client.commit("octo", "hello", {"notes.txt": "more"}, branch="feature")
    sandbox.client.comment("octo", "hello", seeded.number, "/promote", author="alice")
    events = webhook_receiver.events()
    assert events == [("push", None), ("push", None), ("pull_request", "opened"),
                      ("push", None), ("pull_request", "synchronize"),
                      ("issue_comment", "created")]
    got = [d.payload for d in webhook_receiver.deliveries]
    assert all(d.signature_valid for d in webhook_receiver.deliveries)

    created_push = corpus("push.branch-created.1")
    for payload in got[:2]:
        assert not _missing(created_push, payload)
        assert payload["created"] is True and payload["before"] == "0" * 40
        assert not _missing(created_push["repository"], payload["repository"])
        assert not _missing(created_push["head_commit"], payload["head_commit"])
        assert not _missing(created_push["commits"][0], payload["commits"][0])
    assert got[1]["ref"] == "refs/heads/feature" and len(got[1]["commits"]) == 1
    assert got[3]["created"] is False and got[3]["before"] == seeded.head_sha

    opened = corpus("pull_request.opened.1")
    pr = got[2]["pull_request"]
    assert not _missing(opened, got[2])
    assert not _missing(opened["pull_request"], pr)
    for side in ("head", "base"):
        assert not _missing(opened["pull_request"][side], pr[side])
        assert not _missing(opened["pull_request"][side]["repo"], pr[side]["repo"])
    assert (pr["head"]["ref"], pr["head"]["sha"], pr["base"]["ref"]) == ("feature",
                                                                          seeded.head_sha, "main")
    assert pr["head"]["label"] == "octo:feature" and pr["user"]["login"] == "alice"
    assert pr["author_association"] == "FIRST_TIME_CONTRIBUTOR"
    assert got[2]["repository"]["full_name"] == "octo/hello"
    assert got[2]["repository"]["default_branch"] == "main"
    assert got[2]["sender"]["login"] == "alice"

    sync = got[4]
    assert not _missing(corpus("pull_request.synchronize.1"), sync)
    assert (sync["before"], sync["after"]) == (seeded.head_sha, got[3]["after"])
    assert sync["pull_request"]["head"]["sha"] == got[3]["after"]

    comment = got[5]
    reference = corpus("issue_comment.created.4")
    assert not _missing(reference, comment, frozenset({"organization"}))
    assert not _missing(reference["issue"], comment["issue"])
    assert not _missing(reference["comment"], comment["comment"])
    assert comment["issue"]["pull_request"]["url"].endswith(f"/pulls/{seeded.number}")
    assert comment["comment"]["body"] == "/promote"
    assert comment["comment"]["user"]["login"] == "alice"


def test_plain_issue_comment_has_no_pull_request_key(sandbox: SandboxHandle,
                                                     webhook_receiver: WebhookReceiver) -> None:
    sandbox.client.create_repo("octo", "hello", files={"a": "1"})
    sandbox.set_webhook_url(webhook_receiver.url)
    number = sandbox.client.create_issue("octo", "hello", "Bug", author="bob")["number"]
    sandbox.client.comment("octo", "hello", number, "same here", author="carol")
    assert webhook_receiver.events() == [("issues", "opened"), ("issue_comment", "created")]
    payload = webhook_receiver.deliveries[1].payload
    assert "pull_request" not in payload["issue"]
    assert payload["comment"]["author_association"] == "NONE"


def test_fork_pull_request_shape(sandbox: SandboxHandle,
                                 webhook_receiver: WebhookReceiver) -> None:
    sandbox.client.create_repo("octo", "hello", files={"a": "1"})
    sandbox.client.fork("octo", "hello", "mallory")
    sandbox.set_webhook_url(webhook_receiver.url)
    pushed = sandbox.client.commit("mallory", "hello", {"a": "evil"}, branch="patch",
                                   author="mallory")
    assert pushed["deliveries"] == []  # the App is not installed on the fork's owner
    opened = sandbox.client.open_pull("octo", "hello", "mallory:patch", author="mallory")
    pr = webhook_receiver.deliveries[-1].payload["pull_request"]
    assert pr["head"]["repo"]["full_name"] == "mallory/hello" and pr["head"]["repo"]["fork"]
    assert pr["head"]["label"] == "mallory:patch" and pr["head"]["user"]["login"] == "mallory"
    assert pr["base"]["repo"]["full_name"] == "octo/hello" and not pr["base"]["repo"]["fork"]
    assert pr["head"]["sha"] == pushed["sha"]
    webhook_receiver.clear()
    second = sandbox.client.commit("mallory", "hello", {"a": "worse"}, branch="patch",
                                   author="mallory")
    assert webhook_receiver.events() == [("pull_request", "synchronize")]
    assert webhook_receiver.deliveries[0].payload["after"] == second["sha"]
    assert opened["number"] == 1

    sandbox.client.fork("octo", "hello", "eve")
    sandbox.client.commit("eve", "hello", {"b": "new"}, branch="patch", author="eve")
    also = sandbox.client.open_pull("octo", "hello", "patch", author="eve", fork=True)
    assert also["pull_request"]["head"]["repo"]["full_name"] == "eve/hello"
    assert also["number"] == 2


def test_failed_deliveries_are_recorded_not_retried(sandbox: SandboxHandle,
                                                    webhook_receiver: WebhookReceiver) -> None:
    sandbox.set_webhook_url(webhook_receiver.url)
    webhook_receiver.status_code = 500
    result = sandbox.client.create_repo("octo", "hello", files={"a": "1"})
    assert [d["status"] for d in result["deliveries"]] == [500]
    assert len(webhook_receiver.deliveries) == 1
    sandbox.set_webhook_url("http://127.0.0.1:9/unreachable")
    result = sandbox.client.commit("octo", "hello", {"a": "2"})
    (delivery,) = result["deliveries"]
    assert delivery["status"] is None and "Connect" in delivery["error"]
    sandbox.set_webhook_url(None)
    result = sandbox.client.commit("octo", "hello", {"a": "3"})
    assert result["deliveries"][0]["error"] == "no webhook_url configured"
    assert len(sandbox.client.state()["deliveries"]) == 3


def test_redelivery_sends_the_same_guid_and_bytes(sandbox: SandboxHandle,
                                                  webhook_receiver: WebhookReceiver) -> None:
    sandbox.set_webhook_url(webhook_receiver.url)
    created = sandbox.client.create_repo("octo", "again", files={"a.txt": "a"})
    [first] = created["deliveries"]
    again = sandbox.client.redeliver(first["guid"])
    assert again["redelivery"] is True and again["status"] == 200
    original, repeat = webhook_receiver.deliveries[-2:]
    assert repeat.headers["x-github-delivery"] == original.headers["x-github-delivery"] == first["guid"]
    assert repeat.body == original.body and repeat.signature_valid
    with pytest.raises(SandboxError) as missing:
        sandbox.client.redeliver("no-such-guid")
    assert missing.value.status == 404
