"""Webhooks of Apps created through the manifest flow (at their ``hook_attributes.url``, signed with their own
secret, carrying their own installation, only the events they subscribe to) and the installation events the
control API sends; the repositories ``GET /installation/repositories`` lists."""

from __future__ import annotations

import httpx

from bot.webhooks.signature import verify
from tests.fixtures.standin import TLS, ReceivedDelivery, SandboxHandle, WebhookReceiver
from tests.fixtures.standin_repos import corpus


def _created_app(sandbox: SandboxHandle, hook_url: str, events: list[str]) -> dict:
    manifest = {"name": "modelgate-hooked", "url": "https://example.com/modelgate",
                "hook_attributes": {"url": hook_url}, "default_events": events,
                "default_permissions": {"issues": "write"}}
    code = sandbox.client.manifest_code(manifest, owner="octo")
    answer = httpx.post(f"{sandbox.url}/app-manifests/{code}/conversions", trust_env=False, verify=TLS)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _of(deliveries: list[ReceivedDelivery], app_id: int) -> list[ReceivedDelivery]:
    return [d for d in deliveries if d.headers["x-github-hook-installation-target-id"] == str(app_id)]


def test_an_app_created_from_a_manifest_gets_its_own_deliveries(
        sandbox: SandboxHandle, webhook_receiver: WebhookReceiver) -> None:
    sandbox.set_webhook_url(webhook_receiver.url)
    app = _created_app(sandbox, webhook_receiver.url + "?app=created", ["push"])
    created = sandbox.client.create_repo("octo", "hello", files={"a": "1"})
    sandbox.client.create_issue("octo", "hello", "Bug", author="bob")  # not one of its events
    sandbox.client.remove_repositories(["octo/hello"])  # sent to every App
    assert [(d["event"], d["app_id"]) for d in created["deliveries"]] == [("push", sandbox.app_id),
                                                                         ("push", app["id"])]
    got = webhook_receiver.deliveries
    ours, theirs = _of(got, sandbox.app_id), _of(got, app["id"])
    assert [d.event for d in ours] == ["push", "issues", "installation_repositories"]
    assert [d.event for d in theirs] == ["push", "installation_repositories"]
    for delivery in theirs:
        assert verify(app["webhook_secret"], delivery.body, delivery.headers["x-hub-signature-256"])
        assert not delivery.signature_valid  # not the configured App's secret
        assert delivery.headers["x-github-hook-id"] == str(app["id"])
    push, removed = theirs[0].payload, theirs[1].payload
    assert push["installation"]["id"] not in (None, sandbox.installation_id)
    assert push["after"] == created["sha"]
    assert push == {**ours[0].payload, "installation": push["installation"]}  # the same but its installation
    own = removed["installation"]
    assert (own["id"], own["app_id"], own["app_slug"]) == (push["installation"]["id"], app["id"],
                                                           "modelgate-hooked")
    assert own["access_tokens_url"].endswith(f"/app/installations/{own['id']}/access_tokens")
    assert own["permissions"] == {"metadata": "read", "issues": "write"}

    again = sandbox.client.redeliver(theirs[0].headers["x-github-delivery"])
    assert (again["app_id"], again["status"]) == (app["id"], 200)
    assert _of(webhook_receiver.deliveries, app["id"])[-1].body == theirs[0].body

    sandbox.client.reset()  # the created App is forgotten: its webhooks stop
    sandbox.set_webhook_url(webhook_receiver.url)
    webhook_receiver.clear()
    sandbox.client.create_repo("octo", "hello", files={"a": "1"})
    assert [d.headers["x-github-hook-installation-target-id"] for d in webhook_receiver.deliveries] == [
        str(sandbox.app_id)]


def test_installation_events_and_the_installed_repositories(
        sandbox: SandboxHandle, webhook_receiver: WebhookReceiver) -> None:
    sandbox.set_webhook_url(webhook_receiver.url)
    quiet = sandbox.client.create_repo("octo", "hello", files={"a": "1"}, push=False)
    sandbox.client.create_repo("acme", "wine", files={"b": "2"}, push=False)
    sandbox.client.fork("octo", "hello", "mallory")
    assert quiet["deliveries"] == [] and webhook_receiver.deliveries == []
    sandbox.client.install()
    sandbox.client.add_repositories(["octo/hello"], author="alice")
    sandbox.client.suspend()
    sandbox.client.unsuspend()
    assert webhook_receiver.events() == [("installation", "created"), ("installation_repositories", "added"),
                                         ("installation", "suspend"), ("installation", "unsuspend")]
    created, added, suspended, _ = (d.payload for d in webhook_receiver.deliveries)
    reference = corpus("installation.created.1")
    assert not set(reference) - set(created) - {"requester"}
    assert [r["full_name"] for r in created["repositories"]] == ["acme/wine", "octo/hello"]
    assert [r["full_name"] for r in added["repositories_added"]] == ["octo/hello"]
    assert added["sender"]["login"] == "alice" and added["installation"]["id"] == sandbox.installation_id
    assert "repositories" not in suspended  # as GitHub sends it

    listed = sandbox.rest().get("/installation/repositories", params={"per_page": 1})
    assert listed.status_code == 200 and listed.json()["total_count"] == 2  # not the fork
    assert [r["full_name"] for r in listed.json()["repositories"]] == ["acme/wine"]
    assert 'rel="next"' in listed.headers["link"]
