"""``GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls`` in the sandbox and through the bot's
``InstallationAPI.pulls_for_commit``."""

from __future__ import annotations

import pytest

from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import NAME, OWNER, REPO, seed

github_app = pytest.importorskip("bot.github.app")
github_api = pytest.importorskip("bot.github.api")
RequestFailed = pytest.importorskip("githubkit.exception").RequestFailed

OPERATION = "repos/list-pull-requests-associated-with-commit"
SIMPLE_ONLY = {"merged", "mergeable", "mergeable_state", "commits", "additions", "changed_files"}


def _api(sandbox: SandboxHandle) -> tuple[object, object]:
    app = github_app.GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url)
    return app.for_repository(f"{OWNER}/{NAME}", None), github_api.Repo(OWNER, NAME)


def test_merged_open_and_direct_commits_through_the_bot_client(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    sandbox.client.set_protection(OWNER, NAME, [])
    api, repo = _api(sandbox)

    # open PR #1: found by its head sha, as pull-request-simple objects
    [found] = api.pulls_for_commit(repo, seeded.head_sha)
    assert (found["number"], found["state"], found["head"]["sha"]) == (seeded.number, "open",
                                                                        seeded.head_sha)
    assert found["merged_at"] is None and not SIMPLE_ONLY & found.keys()
    assert api.pulls_for_commit(repo, seeded.base_sha) == []  # the base is not the PR's

    # PR #2, two commits on "second": the older one belongs to it too
    first = sandbox.client.commit(OWNER, NAME, {"a.txt": "1"}, branch="second")["sha"]
    second = sandbox.client.commit(OWNER, NAME, {"a.txt": "2"}, branch="second")["sha"]
    other = sandbox.client.open_pull(OWNER, NAME, "second", title="Second")["number"]
    assert [p["number"] for p in api.pulls_for_commit(repo, first)] == [other]

    # merged PR #1: found by its merge commit and still by its head
    merged = sandbox.client.merge(OWNER, NAME, seeded.number, author="octo")
    [by_merge] = api.pulls_for_commit(repo, merged["sha"])
    assert (by_merge["number"], by_merge["state"], by_merge["merge_commit_sha"]) == (
        seeded.number, "closed", merged["sha"])
    assert by_merge["merged_at"] is not None
    assert [p["number"] for p in api.pulls_for_commit(repo, seeded.head_sha)] == [seeded.number]
    assert [p["number"] for p in api.pulls_for_commit(repo, second)] == [other]

    # a direct push to the default branch came from no pull request
    direct = sandbox.client.commit(OWNER, NAME, {"b.txt": "direct"}, branch="main")["sha"]
    assert api.pulls_for_commit(repo, direct) == []
    assert api.pulls_for_commit(repo, "main") == []  # a branch name names its tip


def test_unknown_commit_and_repository(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    api, repo = _api(sandbox)
    with pytest.raises(RequestFailed) as unknown:
        api.pulls_for_commit(repo, "f" * 40)
    assert unknown.value.response.status_code == 422
    assert unknown.value.response.json()["message"] == f"No commit found for SHA: {'f' * 40}"

    rest = sandbox.rest()
    missing = rest.get(f"/repos/{OWNER}/nope/commits/{'f' * 40}/pulls")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    anonymous = rest.get(f"{REPO}/commits/main/pulls", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    log = [(r["operationId"], r["status"]) for r in sandbox.client.state()["requests"]
           if r["operationId"] == OPERATION]
    assert log[-3:] == [(OPERATION, 422), (OPERATION, 404), (OPERATION, 401)]


def test_pages_and_faults(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    for user in ("bob", "carol"):  # forks share "feature", so their PRs have the same head
        sandbox.client.open_pull(OWNER, NAME, f"{user}:feature", author=user, title=user)
    rest = sandbox.rest()
    url = f"{REPO}/commits/{seeded.head_sha}/pulls"
    first = rest.get(url, params={"per_page": 2})
    assert first.status_code == 200 and [p["number"] for p in first.json()] == [1, 2]
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    last = rest.get(url, params={"per_page": 2, "page": 2})
    [fork_pr] = last.json()
    assert (fork_pr["number"], fork_pr["head"]["repo"]["full_name"]) == (3, "carol/hello")
    assert rest.get(url).json()[0]["base"]["repo"]["full_name"] == f"{OWNER}/{NAME}"
    assert rest.get(f"/repos/carol/{NAME}/commits/{seeded.head_sha}/pulls").json() == []

    sandbox.client.add_fault(OPERATION, 500)
    assert rest.get(url).status_code == 500
    assert rest.get(url).status_code == 200
