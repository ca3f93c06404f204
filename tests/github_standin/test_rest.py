"""REST behaviour beyond the schemas: pagination, limits, idempotency aids, contents, tarballs."""

from __future__ import annotations

import base64
import io
import re
import tarfile

import httpx

from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import FILES, REPO, seed


def _links(response: httpx.Response) -> dict[str, int]:
    header = response.headers.get("Link", "")
    return {rel: int(page) for page, rel in
            re.findall(r'<[^>]*[?&]page=(\d+)[^>]*>; rel="(\w+)"', header)}


def test_comment_pagination_and_link_headers(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    for i in range(205):
        assert rest.post(f"{REPO}/issues/{seeded.number}/comments",
                         json={"body": f"c{i}"}).status_code == 201
    url = f"{REPO}/issues/{seeded.number}/comments"
    first = rest.get(url, params={"per_page": 100})
    assert [c["body"] for c in first.json()][:2] == ["c0", "c1"] and len(first.json()) == 100
    assert _links(first) == {"next": 2, "last": 3}
    middle = rest.get(url, params={"per_page": 100, "page": 2})
    assert _links(middle) == {"prev": 1, "next": 3, "last": 3, "first": 1}
    last = rest.get(url, params={"per_page": 100, "page": 3})
    assert len(last.json()) == 5 and _links(last) == {"prev": 2, "first": 1}
    assert 'per_page=100' in last.headers["Link"] and last.headers["Link"].startswith("<http")
    default = rest.get(url)
    assert len(default.json()) == 30 and _links(default) == {"next": 2, "last": 7}
    capped = rest.get(url, params={"per_page": 500})
    assert len(capped.json()) == 100
    beyond = rest.get(url, params={"per_page": 100, "page": 9})
    assert beyond.json() == []
    comment = first.json()[0]
    assert comment["user"]["login"] == sandbox.bot_login == "modelgate[bot]"
    assert comment["user"]["type"] == "Bot"
    assert comment["performed_via_github_app"]["id"] == sandbox.app_id


def test_reactions(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    alice = sandbox.client.comment("octo", "hello", seeded.number, "/promote", author="alice")
    comment_id = alice["comment"]["id"]
    rest = sandbox.rest()
    url = f"{REPO}/issues/comments/{comment_id}/reactions"
    first = rest.post(url, json={"content": "+1"})
    again = rest.post(url, json={"content": "+1"})
    other = rest.post(url, json={"content": "eyes"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert rest.post(url, json={"content": "thumbsup"}).status_code == 422
    assert rest.post(f"{REPO}/issues/comments/999/reactions",
                     json={"content": "+1"}).status_code == 404
    rollup = rest.get(f"{REPO}/issues/comments/{comment_id}").json()["reactions"]
    assert (rollup["total_count"], rollup["+1"], rollup["eyes"]) == (2, 1, 1)


def test_check_run_limits(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    base = {"name": "modelgate / staging", "head_sha": seeded.head_sha}
    action = {"label": "L" * 20, "description": "D" * 40, "identifier": "I" * 20}
    ok = rest.post(f"{REPO}/check-runs", json={
        **base, "output": {"title": "t", "summary": "s" * 65535, "text": "x" * 65535},
        "actions": [action] * 3})
    assert ok.status_code == 201, ok.text
    run = f"{REPO}/check-runs/{ok.json()['id']}"
    too_much = [
        {"output": {"title": "t", "summary": "s" * 65536}},
        {"output": {"title": "t", "summary": "s", "text": "x" * 65536}},
        {"output": {"summary": "no title"}},
        {"actions": [action] * 4},
        {"actions": [{**action, "label": "L" * 21}]},
        {"actions": [{**action, "identifier": "I" * 21}]},
        {"actions": [{**action, "description": "D" * 41}]},
        {"output": {"title": "t", "summary": "s", "annotations": [
            {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "notice",
             "message": "m"}] * 51}},
        {"status": "done"},
        {"conclusion": "stale"},
        {"status": "completed"},
    ]
    for change in too_much:
        created = rest.post(f"{REPO}/check-runs", json={**base, **change})
        assert created.status_code == 422, change
        assert created.json()["message"].startswith("Invalid request.")
        assert rest.patch(run, json=change).status_code == 422, change
    assert rest.post(f"{REPO}/check-runs", json={"name": "x"}).status_code == 422
    unknown = rest.post(f"{REPO}/check-runs", json={"name": "x", "head_sha": "f" * 40})
    assert unknown.status_code == 422 and "No commit found" in unknown.json()["message"]
    assert rest.get(run).json()["output"]["summary"] == "s" * 65535  # failed PATCHes changed nothing


def test_check_runs_list_for_ref(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    for name, external in (("staging", "a"), ("staging", "b"), ("lint", "c")):
        rest.post(f"{REPO}/check-runs", json={"name": name, "head_sha": seeded.head_sha,
                                             "external_id": external})
    for ref in (seeded.head_sha, "feature", "refs/heads/feature", seeded.head_sha[:7]):
        listed = rest.get(f"{REPO}/commits/{ref}/check-runs", params={"filter": "all"}).json()
        assert listed["total_count"] == 3, ref
    named = rest.get(f"{REPO}/commits/{seeded.head_sha}/check-runs",
                     params={"check_name": "staging", "filter": "all"}).json()
    assert [r["external_id"] for r in named["check_runs"]] == ["b", "a"]
    latest = rest.get(f"{REPO}/commits/{seeded.head_sha}/check-runs",
                      params={"check_name": "staging"}).json()
    assert [r["external_id"] for r in latest["check_runs"]] == ["b"]
    run = named["check_runs"][0]
    assert run["pull_requests"][0]["number"] == seeded.number
    assert run["app"]["slug"] == "modelgate" and run["check_suite"]["id"] >= 1
    assert rest.get(f"{REPO}/commits/nope/check-runs").status_code == 404


def test_statuses_combined_and_listed(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    url = f"{REPO}/statuses/{seeded.head_sha}"
    for state, context in (("pending", "a"), ("success", "a"), ("success", "b")):
        assert rest.post(url, json={"state": state, "context": context}).status_code == 201
    combined = rest.get(f"{REPO}/commits/feature/status").json()
    assert combined["state"] == "success" and combined["total_count"] == 2
    assert combined["sha"] == seeded.head_sha
    rest.post(url, json={"state": "failure", "context": "b", "description": "broke",
                         "target_url": "https://ci.example/1"})
    assert rest.get(f"{REPO}/commits/{seeded.head_sha}/status").json()["state"] == "failure"
    listed = rest.get(f"{REPO}/commits/{seeded.head_sha}/statuses").json()
    assert [(s["context"], s["state"]) for s in listed][:2] == [("b", "failure"), ("b", "success")]
    assert listed[0]["creator"]["login"] == sandbox.bot_login
    assert rest.post(url, json={"state": "green"}).status_code == 422
    assert rest.post(url, json={"state": "success", "description": "x" * 141}).status_code == 422
    assert rest.post(f"{REPO}/statuses/{'e' * 40}", json={"state": "success"}).status_code == 422
    nothing = rest.get(f"{REPO}/commits/main/status").json()
    assert (nothing["state"], nothing["total_count"]) == ("pending", 0)


def test_contents(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    for ref in (None, "main", "refs/heads/main", seeded.base_sha):
        params = {"ref": ref} if ref else {}
        body = rest.get(f"{REPO}/contents/src/model.py", params=params).json()
        assert base64.b64decode(body["content"]).decode() == FILES["src/model.py"], ref
        assert body["encoding"] == "base64" and body["path"] == "src/model.py"
    feature = rest.get(f"{REPO}/contents/src/model.py", params={"ref": "feature"},
                       headers={"Accept": "application/vnd.github.raw+json"})
    assert feature.content == b"WEIGHTS = [4, 5, 6]\n"
    raw = rest.get(f"{REPO}/contents/configs/train.yaml",
                   headers={"Accept": "application/vnd.github.raw"})
    assert raw.content == b"lr: 0.1\n"
    download = httpx.get(rest.get(f"{REPO}/contents/README.md").json()["download_url"],
                         trust_env=False)
    assert download.content == FILES["README.md"].encode()
    root = rest.get(f"{REPO}/contents/").json()
    assert {(e["name"], e["type"]) for e in root} == {("README.md", "file"), ("src", "dir"),
                                                      ("configs", "dir")}
    assert rest.get(f"{REPO}/contents/missing.txt").status_code == 404
    assert rest.get(f"{REPO}/contents/README.md", params={"ref": "nope"}).status_code == 404
    assert rest.get("/repos/octo/nope/contents/README.md").status_code == 404


def test_tarball_round_trip(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest(follow_redirects=True)
    for ref, sha in (("main", seeded.base_sha), ("refs/heads/feature", seeded.head_sha),
                     (seeded.head_sha, seeded.head_sha)):
        response = rest.get(f"{REPO}/tarball/{ref}")
        assert response.status_code == 200 and response.history[0].status_code == 302
        with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
            top = f"octo-hello-{sha[:7]}"
            assert tar.pax_headers.get("comment") == sha
            members = {m.name: m for m in tar.getmembers()}
            assert {name.split("/")[0] for name in members} == {top}
            files = {name.removeprefix(top + "/"): tar.extractfile(m).read()
                     for name, m in members.items() if m.isfile()}
        expected = dict(FILES)
        if sha == seeded.head_sha:
            expected["src/model.py"] = "WEIGHTS = [4, 5, 6]\n"
        assert files == {k: v.encode() for k, v in expected.items()}, ref
    assert rest.get(f"{REPO}/tarball/nope").status_code == 404
    location = sandbox.rest().get(f"{REPO}/tarball/main").headers["Location"]
    forged = httpx.get(location.split("?")[0] + "?token=forged", trust_env=False)
    assert forged.status_code == 404


def test_collaborator_permissions(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    rest = sandbox.rest()
    expected = {"admin": ("admin", "admin"), "maintain": ("write", "maintain"),
                "write": ("write", "write"), "triage": ("read", "triage"),
                "read": ("read", "read")}
    for role, (permission, role_name) in expected.items():
        sandbox.client.set_permission("octo", "hello", "carol", role)
        body = rest.get(f"{REPO}/collaborators/carol/permission").json()
        assert (body["permission"], body["role_name"]) == (permission, role_name)
        assert body["user"]["login"] == "carol"
    sandbox.client.set_permission("octo", "hello", "carol", "none")
    none = rest.get(f"{REPO}/collaborators/carol/permission").json()
    assert (none["permission"], none["role_name"]) == ("none", "none")
    assert rest.get(f"{REPO}/collaborators/octo/permission").json()["permission"] == "admin"
    assert rest.get(f"{REPO}/collaborators/nobody-here/permission").status_code == 404


def test_deployments(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    rest = sandbox.rest()
    rest.post(f"{REPO}/statuses/{seeded.head_sha}", json={"state": "failure", "context": "ci"})
    blocked = rest.post(f"{REPO}/deployments", json={"ref": "feature", "environment": "staging"})
    assert blocked.status_code == 409
    created = rest.post(f"{REPO}/deployments", json={
        "ref": "feature", "environment": "staging", "required_contexts": [],
        "payload": {"model": "m1"}, "description": "stage m1"})
    assert created.status_code == 201, created.text
    dep = created.json()
    assert (dep["sha"], dep["environment"], dep["payload"]) == (seeded.head_sha, "staging",
                                                                 {"model": "m1"})
    status = rest.post(f"{REPO}/deployments/{dep['id']}/statuses",
                       json={"state": "success", "environment_url": "https://stage.example"})
    assert status.status_code == 201 and status.json()["state"] == "success"
    assert rest.post(f"{REPO}/deployments/{dep['id']}/statuses",
                     json={"state": "great"}).status_code == 422
    listed = rest.get(f"{REPO}/deployments", params={"environment": "staging"}).json()
    assert [d["id"] for d in listed] == [dep["id"]]
    assert rest.get(f"{REPO}/deployments", params={"environment": "prod"}).json() == []
    statuses = rest.get(f"{REPO}/deployments/{dep['id']}/statuses").json()
    assert [s["state"] for s in statuses] == ["success"]
    assert rest.get(f"{REPO}/deployments/999").status_code == 404
    assert rest.post(f"{REPO}/deployments", json={"ref": "nope"}).status_code == 422


def test_unknown_routes_are_github_404s(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    rest = sandbox.rest()
    for method, path in (("GET", "/nope"), ("DELETE", f"{REPO}/pulls/1"),
                         ("GET", "/repos/octo/nope/pulls/1"), ("GET", f"{REPO}/pulls/x")):
        response = rest.request(method, path)
        assert response.status_code == 404
        assert response.json()["message"] == "Not Found"
        assert "documentation_url" in response.json()
    bad_json = rest.post(f"{REPO}/check-runs", content=b"{nope")
    assert bad_json.status_code == 400
    assert bad_json.json()["message"] == "Problems parsing JSON"
