"""Injected faults: GitHub's failure shapes, counted down, before the operation takes effect."""

from __future__ import annotations

import time

import pytest

from github_standin.client import SandboxError
from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import REPO, seed


def test_faults_fail_like_github_and_count_down(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    url = f"{REPO}/issues/{seeded.number}/comments"
    sandbox.client.add_fault("issues/create-comment", 500, count=2)
    for _ in range(2):
        failed = rest.post(url, json={"body": "lost"})
        assert failed.status_code == 500 and failed.json() == {"message": "Server Error"}
    assert rest.get(url).json() == []  # the fault came before the write
    assert rest.post(url, json={"body": "kept"}).status_code == 201

    sandbox.client.add_fault("pulls/get", 429)
    limited = rest.get(f"{REPO}/pulls/{seeded.number}")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) >= int(time.time())
    assert limited.headers["x-ratelimit-limit"] == "5000"
    assert rest.get(f"{REPO}/pulls/{seeded.number}").status_code == 200

    sandbox.client.add_fault("checks/create", 403, retry_after=3)
    secondary = rest.post(f"{REPO}/check-runs", json={"name": "x", "head_sha": seeded.head_sha})
    assert secondary.status_code == 403 and secondary.headers["Retry-After"] == "3"
    assert secondary.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert sandbox.client.state()["check_runs"] == []
    assert rest.post(f"{REPO}/check-runs",
                     json={"name": "x", "head_sha": seeded.head_sha}).status_code == 201

    log = [(r["operationId"], r["status"]) for r in sandbox.client.state()["requests"]]
    assert ("issues/create-comment", 500) in log and ("pulls/get", 429) in log
    assert ("checks/create", 403) in log and log[-1] == ("checks/create", 201)


def test_faults_queue_and_show_in_state(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    sandbox.client.add_fault("repos/get-content", 500)
    sandbox.client.add_fault("repos/get-content", 429)
    pending = sandbox.client.state()["faults"]["repos/get-content"]
    assert [f["status"] for f in pending] == [500, 429]
    rest = sandbox.rest()
    codes = [rest.get(f"{REPO}/contents/README.md").status_code for _ in range(3)]
    assert codes == [500, 429, 200]
    assert sandbox.client.state()["faults"] == {}


def test_every_rest_route_is_named_by_its_operation_id_and_takes_faults(sandbox: SandboxHandle) -> None:
    """Every REST route carries GitHub's operationId (the control API and codeload downloads
    excepted, and GitHub's web pages), and a fault can be queued for each one: any GitHub call the App
    makes can fail."""
    from github_standin import web_apps
    from github_standin.app import create_sandbox_app

    app = create_sandbox_app(sandbox.config)
    pages = {route.path for route in web_apps.ROUTES}
    routes = [r for r in app.routes  # not the control API, codeload, nor web pages
              if not getattr(r, "path", "").startswith("/_") and getattr(r, "path", "") not in pages]
    ids = app.state.operation_ids
    unnamed = [getattr(r, "path", r) for r in routes if getattr(r, "name", None) not in ids]
    assert routes and unnamed == []
    for operation in sorted(app.state.operation_ids):
        sandbox.client.add_fault(operation, 500)
    assert set(sandbox.client.state()["faults"]) == set(app.state.operation_ids)


def test_bad_faults_are_refused(sandbox: SandboxHandle) -> None:
    with pytest.raises(SandboxError) as unknown:
        sandbox.client.add_fault("issues/lock", 500)
    assert unknown.value.status == 422
    with pytest.raises(SandboxError):
        sandbox.client.add_fault("pulls/get", 404)
