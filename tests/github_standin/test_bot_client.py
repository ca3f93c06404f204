"""The bot's own GitHub client (``bot.github``) works against the sandbox unchanged."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import seed

github_app = pytest.importorskip("bot.github.app")
github_api = pytest.importorskip("bot.github.api")


def test_installation_api_round_trip(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    app = github_app.GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url)
    api = app.for_repository("octo/hello", None)
    repo = github_api.Repo("octo", "hello")
    assert api.get_pull(repo, seeded.number)["head"]["sha"] == seeded.head_sha
    api.set_status(repo, seeded.head_sha, state="success", context="modelgate/staging",
                   description="d" * 300)
    run = api.create_check_run(repo, name="modelgate / staging", head_sha=seeded.head_sha,
                               external_id="job-1", status="in_progress")
    assert api.find_check_run(repo, seeded.head_sha, "modelgate / staging", "job-1") == run
    api.update_check_run(repo, run, conclusion="success",
                         output={"title": "Staging", "summary": "ok"})
    sandbox.client.add_fault("issues/create-comment", 500)  # ambiguous failure: find, retry
    first = api.upsert_comment(repo, seeded.number, "<!-- modelgate -->", "report")
    assert api.upsert_comment(repo, seeded.number, "<!-- modelgate -->", "report 2") == first
    api.react(repo, first, "rocket")
    api.react(repo, first, "rocket")
    assert api.permission(repo, "octo") == "admin" and api.permission(repo, "ghost") == "none"
    assert api.get_file(repo, "src/model.py", "feature") == b"WEIGHTS = [4, 5, 6]\n"
    assert api.get_file(repo, "missing", "feature") is None
    with tarfile.open(fileobj=io.BytesIO(api.download_tarball(repo, "feature"))) as tar:
        names = tar.getnames()
    assert f"octo-hello-{seeded.head_sha[:7]}/src/model.py" in names
    sandbox.client.add_fault("pulls/get", 429)
    assert api.get_pull(repo, seeded.number)["number"] == seeded.number  # waited, retried
    comments = [c for c in sandbox.client.state()["comments"] if c["issue_number"] == 1]
    assert [c["body"] for c in comments] == ["<!-- modelgate -->\nreport 2"]


def test_deployments_are_recorded_with_their_statuses(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    app = github_app.GitHubApp(sandbox.app_id, sandbox.private_key_pem, base_url=sandbox.url)
    api = app.for_repository("octo/hello", None)
    repo = github_api.Repo("octo", "hello")
    deployment = api.create_deployment(repo, seeded.head_sha, environment="production",
                                       payload={"model": "wine", "version": 3, "run_id": "abc"},
                                       description="wine-classifier v3")
    api.set_deployment_status(repo, deployment, "in_progress", description="starting v3")
    api.set_deployment_status(repo, deployment, "success", description="serving v3",
                              environment_url="http://127.0.0.1:5005/invocations")
    state = sandbox.client.state()
    [recorded] = state["deployments"]
    summary = (recorded["id"], recorded["environment"], recorded["payload"]["version"])
    assert summary == (deployment, "production", 3)
    statuses = [s["state"] for s in state["deployment_statuses"] if s["deployment_id"] == deployment]
    assert statuses == ["in_progress", "success"]
