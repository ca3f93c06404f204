"""Every operation of the OpenAPI subset answers with a documented status and a valid body."""

from __future__ import annotations

import httpx

from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import REPO, assert_component, assert_conforms, seed, spec

COVERED = {
    "repos/create-commit-status", "checks/create", "checks/update", "issues/list-comments",
    "issues/create-comment", "issues/update-comment", "reactions/create-for-issue-comment",
    "repos/get-collaborator-permission-level", "pulls/get", "repos/download-tarball-archive",
    "repos/get-content", "apps/create-installation-access-token", "apps/get-repo-installation",
    "apps/create-from-manifest",
}


def test_the_subset_is_the_one_covered_here() -> None:
    ids = {op["operationId"] for ops in spec()["paths"].values() for op in ops.values()}
    assert ids == COVERED


def test_app_endpoints(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    jwt_headers = {"Authorization": f"Bearer {sandbox.app_jwt()}"}
    with httpx.Client(base_url=sandbox.url, headers=jwt_headers, trust_env=False) as http:
        path = "/app/installations/{installation_id}/access_tokens"
        response = http.post(f"/app/installations/{sandbox.installation_id}/access_tokens",
                             json={"repositories": ["hello"]})
        assert response.status_code == 201
        assert response.json()["token"].startswith("ghs_")
        assert_conforms("POST", path, 201, response.json())
        missing = http.post("/app/installations/999/access_tokens")
        assert missing.status_code == 404
        assert_conforms("POST", path, 404, missing.json())

        response = http.get(f"{REPO}/installation")
        assert response.status_code == 200
        assert response.json()["id"] == sandbox.installation_id
        assert_conforms("GET", "/repos/{owner}/{repo}/installation", 200, response.json())
        gone = http.get("/repos/octo/nope/installation")
        assert_conforms("GET", "/repos/{owner}/{repo}/installation", gone.status_code,
                        gone.json())

    manifest = {"name": "modelgate-local", "url": "https://example.com/modelgate",
                "hook_attributes": {"url": "https://example.com/api/github/webhooks"},
                "default_permissions": {"statuses": "write"}, "default_events": ["push"]}
    code = sandbox.client.manifest_code(manifest, owner="octo-org")
    response = httpx.post(f"{sandbox.url}/app-manifests/{code}/conversions", trust_env=False)
    assert response.status_code == 201
    app = response.json()
    assert app["id"] not in (sandbox.app_id, None) and (app["slug"], app["name"]) == (
        "modelgate-local", "modelgate-local")
    assert app["owner"]["login"] == "octo-org" and app["events"] == ["push"]
    assert app["permissions"] == {"metadata": "read", "statuses": "write"}
    assert app["webhook_secret"] not in (None, sandbox.webhook_secret)
    assert app["pem"].startswith("-----BEGIN RSA PRIVATE KEY-----") and app["pem"] != sandbox.private_key_pem
    assert_conforms("POST", "/app-manifests/{code}/conversions", 201, app)
    reused = httpx.post(f"{sandbox.url}/app-manifests/{code}/conversions", trust_env=False)
    assert reused.status_code == 404
    assert_conforms("POST", "/app-manifests/{code}/conversions", 404, reused.json())


def test_pull_and_statuses_and_checks(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    response = rest.get(f"{REPO}/pulls/{seeded.number}")
    assert response.status_code == 200
    assert_conforms("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", 200, response.json())
    missing = rest.get(f"{REPO}/pulls/99")
    assert missing.status_code == 404
    assert_conforms("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", 404, missing.json())

    response = rest.post(f"{REPO}/statuses/{seeded.head_sha}",
                         json={"state": "pending", "context": "modelgate/staging"})
    assert response.status_code == 201
    assert response.headers["Location"] == response.json()["url"]
    assert_conforms("POST", "/repos/{owner}/{repo}/statuses/{sha}", 201, response.json())

    response = rest.post(f"{REPO}/check-runs", json={
        "name": "modelgate / staging", "head_sha": seeded.head_sha, "status": "in_progress",
        "external_id": "run-1", "output": {"title": "Staging", "summary": "running"}})
    assert response.status_code == 201
    assert_conforms("POST", "/repos/{owner}/{repo}/check-runs", 201, response.json())
    run_id = response.json()["id"]
    response = rest.patch(f"{REPO}/check-runs/{run_id}", json={
        "conclusion": "success", "output": {"title": "Staging", "summary": "done", "text": "ok"},
        "actions": [{"label": "Promote", "description": "Promote the model", "identifier": "promote"}]})
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert_conforms("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 200,
                    response.json())


def test_comments_and_reactions(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    path = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
    created = rest.post(f"{REPO}/issues/{seeded.number}/comments", json={"body": "Report"})
    assert created.status_code == 201
    assert_conforms("POST", path, 201, created.json())
    bad = rest.post(f"{REPO}/issues/{seeded.number}/comments", json={})
    assert bad.status_code == 422
    assert_conforms("POST", path, 422, bad.json())
    missing = rest.post(f"{REPO}/issues/77/comments", json={"body": "x"})
    assert_conforms("POST", path, missing.status_code, missing.json())

    listed = rest.get(f"{REPO}/issues/{seeded.number}/comments")
    assert listed.status_code == 200 and len(listed.json()) == 1
    assert_conforms("GET", path, 200, listed.json())
    gone = rest.get(f"{REPO}/issues/77/comments")
    assert_conforms("GET", path, gone.status_code, gone.json())

    comment_path = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
    comment_id = created.json()["id"]
    updated = rest.patch(f"{REPO}/issues/comments/{comment_id}", json={"body": "Report v2"})
    assert updated.status_code == 200 and updated.json()["body"] == "Report v2"
    assert_conforms("PATCH", comment_path, 200, updated.json())
    bad = rest.patch(f"{REPO}/issues/comments/{comment_id}", json={"body": ""})
    assert_conforms("PATCH", comment_path, bad.status_code, bad.json())

    reactions = comment_path + "/reactions"
    for expected in (201, 200):
        response = rest.post(f"{REPO}/issues/comments/{comment_id}/reactions",
                             json={"content": "rocket"})
        assert response.status_code == expected
        assert_conforms("POST", reactions, expected, response.json())
    bad = rest.post(f"{REPO}/issues/comments/{comment_id}/reactions", json={"content": "wow"})
    assert bad.status_code == 422
    assert_conforms("POST", reactions, 422, bad.json())


def test_permission_content_and_tarball(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    sandbox.client.set_permission("octo", "hello", "bob", "maintain")
    rest = sandbox.rest()
    path = "/repos/{owner}/{repo}/collaborators/{username}/permission"
    for user in ("bob", "octo", "alice"):
        response = rest.get(f"{REPO}/collaborators/{user}/permission")
        assert response.status_code == 200
        assert_conforms("GET", path, 200, response.json())
    unknown = rest.get(f"{REPO}/collaborators/ghost/permission")
    assert unknown.status_code == 404
    assert_conforms("GET", path, 404, unknown.json())

    content = "/repos/{owner}/{repo}/contents/{path}"
    response = rest.get(f"{REPO}/contents/src/model.py", params={"ref": "feature"})
    assert response.status_code == 200 and response.json()["type"] == "file"
    assert_conforms("GET", content, 200, response.json())
    listing = rest.get(f"{REPO}/contents/src")
    assert [e["name"] for e in listing.json()] == ["model.py"]
    # the discriminated oneOf rejects arrays in openapi-schema-validator (corpus README)
    assert_component("content-directory", listing.json())
    missing = rest.get(f"{REPO}/contents/nope.txt")
    assert missing.status_code == 404
    assert_conforms("GET", content, 404, missing.json())

    response = rest.get(f"{REPO}/tarball/main")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(sandbox.url + "/_codeload/octo/hello/")
    assert response.content == b""
    assert "302" in spec()["paths"]["/repos/{owner}/{repo}/tarball/{ref}"]["get"]["responses"]
