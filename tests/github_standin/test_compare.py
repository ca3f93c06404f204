"""``GET /repos/{owner}/{repo}`` and ``GET /repos/{owner}/{repo}/compare/{base}...{head}`` in the
sandbox and through the bot's ``InstallationAPI`` (``get_repository``, ``compare_commits``); the
bodies parse as githubkit's ``FullRepository`` and ``CommitComparison`` (GitHub's schemas)."""

from __future__ import annotations

import pytest
from githubkit_schemas.latest.models import CommitComparison, FullRepository

from bot.github.api import Repo
from bot.github.app import GitHubApp
from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import NAME, OWNER, REPO, seed


def test_the_repository_names_its_default_branch(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    api = GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url).for_repository(
        f"{OWNER}/{NAME}", None)
    data = api.get_repository(Repo(OWNER, NAME))
    assert (data["full_name"], data["default_branch"]) == (f"{OWNER}/{NAME}", "main")
    FullRepository.model_validate(data)
    assert sandbox.rest().get("/repos/octo/nope").status_code == 404


def test_compare_says_where_a_commit_stands_against_a_branch(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)  # main: base; feature: head, one commit ahead
    api = GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url).for_repository(
        f"{OWNER}/{NAME}", None)
    repo = Repo(OWNER, NAME)
    newer = sandbox.client.commit(OWNER, NAME, {"NOTES.md": "main moves on\n"}, branch="main")["sha"]

    def status(base: str, head: str) -> tuple[str, int, int]:
        found = api.compare_commits(repo, base, head)
        assert found is not None
        CommitComparison.model_validate(found)
        return found["status"], found["ahead_by"], found["behind_by"]

    assert status("main", newer) == ("identical", 0, 0)
    assert status("main", seeded.base_sha) == ("behind", 0, 1)  # an older commit of main
    assert status(seeded.base_sha, newer) == ("ahead", 1, 0)
    assert status("main", seeded.head_sha) == ("diverged", 1, 1)  # the feature branch's commit
    assert api.compare_commits(repo, "main", "f" * 40) is None  # GitHub does not know it
    assert api.compare_commits(repo, "nope", seeded.head_sha) is None


@pytest.mark.parametrize("path", ["compare/main", "compare/main...nope"])
def test_compare_of_something_that_is_not_two_commits_is_404(sandbox: SandboxHandle, path: str) -> None:
    seed(sandbox)
    response = sandbox.rest().get(f"{REPO}/{path}")
    assert response.status_code == 404 and response.json()["message"] == "Not Found"


def test_compare_lists_heads_commits_oldest_first(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    second = sandbox.client.commit(OWNER, NAME, {"a.txt": "2"}, branch="feature")["sha"]
    body = sandbox.rest().get(f"{REPO}/compare/main...feature").json()
    assert [c["sha"] for c in body["commits"]] == [seeded.head_sha, second]
    assert body["merge_base_commit"]["sha"] == seeded.base_sha and body["total_commits"] == 2
    assert body["commits"][1]["parents"][0]["sha"] == seeded.head_sha
