"""The control API, the git model and the CLI wiring."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytest

from github_standin import git
from github_standin.cli import add_arguments, config_from_args
from github_standin.client import SandboxError
from github_standin.config import SandboxConfig
from github_standin.shapes import node_id
from github_standin.state import SandboxState
from tests.fixtures.standin import AppKeys, SandboxHandle
from tests.fixtures.standin_repos import REPO, seed


def test_repo_from_a_directory(sandbox: SandboxHandle, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('train')\n")
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    for skipped in (".git", "__pycache__", ".venv", "src/__pycache__"):
        (tmp_path / skipped).mkdir(exist_ok=True)
        (tmp_path / skipped / "junk").write_text("x")
    created = sandbox.client.create_repo("octo", "demo", path=tmp_path, default_branch="trunk")
    assert created["repository"]["default_branch"] == "trunk"
    rest = sandbox.rest()
    root = rest.get("/repos/octo/demo/contents/").json()
    assert sorted(e["name"] for e in root) == ["data.bin", "src"]
    raw = rest.get("/repos/octo/demo/contents/data.bin",
                   headers={"Accept": "application/vnd.github.raw+json"})
    assert raw.content == b"\x00\x01"
    (tmp_path / "data.bin").unlink()
    (tmp_path / "new.txt").write_text("n")
    replaced = sandbox.client.commit("octo", "demo", path=tmp_path)
    names = {e["name"] for e in rest.get("/repos/octo/demo/contents/",
                                         params={"ref": replaced["sha"]}).json()}
    assert names == {"new.txt", "src"}


def test_commits_branches_and_refusals(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    client = sandbox.client
    removed = client.commit("octo", "hello", {"README.md": None}, branch="feature")
    rest = sandbox.rest()
    assert rest.get(f"{REPO}/contents/README.md", params={"ref": "feature"}).status_code == 404
    assert rest.get(f"{REPO}/contents/README.md").status_code == 200
    assert removed["before"] == seeded.head_sha and not removed["created"]
    refusals = [
        lambda: client.create_repo("octo", "hello"),  # taken
        lambda: client.commit("octo", "hello", {"../escape": "x"}),
        lambda: client.commit("octo", "nope", {"a": "x"}),
        lambda: client.open_pull("octo", "hello", "feature"),  # already open
        lambda: client.open_pull("octo", "hello", "main"),  # no commits between
        lambda: client.open_pull("octo", "hello", "ghost-branch"),
        lambda: client.comment("octo", "hello", 42, "hi"),
        lambda: client.merge("octo", "hello", 42),
        lambda: client.set_permission("octo", "hello", "bob", "owner"),
    ]
    statuses = []
    for refuse in refusals:
        with pytest.raises(SandboxError) as error:
            refuse()
        statuses.append(error.value.status)
    assert statuses == [422, 422, 404, 422, 422, 422, 404, 404, 422]


def test_numbers_are_shared_and_state_is_complete(sandbox: SandboxHandle) -> None:
    seeded = seed(sandbox)
    issue = sandbox.client.create_issue("octo", "hello", "Question", author="bob")
    assert (seeded.number, issue["number"]) == (1, 2)
    sandbox.client.comment("octo", "hello", 2, "answer", author="octo")
    state = sandbox.client.state()
    for key in ("repos", "issues", "comments", "reactions", "statuses", "check_runs",
                "deployments", "deployment_statuses", "faults", "requests", "deliveries"):
        assert key in state
    assert state["config"]["webhook_url"] is None
    assert [i["number"] for i in state["issues"]] == [1, 2]
    assert state["comments"][0]["author_association"] == "OWNER"
    assert len(state["repos"][0]["commits"]) == 2
    sandbox.client.reset()
    assert sandbox.client.state()["repos"] == []


def test_git_model_is_deterministic(tmp_path: Path) -> None:
    tree = {"a.txt": b"1", "d/b.txt": b"2"}
    stamp = "2026-01-01T00:00:00Z"
    sha = git.commit_sha(tree, None, "m", "u", stamp)
    assert sha == git.commit_sha(dict(reversed(tree.items())), None, "m", "u", stamp)
    assert sha != git.commit_sha(tree, "f" * 40, "m", "u", stamp)
    assert len(sha) == 40 and int(sha, 16) >= 0
    assert git.blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # as git
    assert git.apply_changes(tree, {"a.txt": None, "./c//e.txt": "x"}) == {"d/b.txt": b"2",
                                                                          "c/e.txt": b"x"}
    with pytest.raises(ValueError):
        git.normalise_path("/etc/passwd")
    assert git.diff_stats({"a": b"1\n2\n"}, {"a": b"1\n3\n", "b": b"x\n"}) == (2, 1, 2)


def test_tokens_expire(app_keys: AppKeys) -> None:
    state = SandboxState(SandboxConfig(app_public_key_pem=app_keys.public_pem))
    token, _ = state.issue_token()
    assert state.token_valid(token)
    state.tokens[token] = (time.time() - 1, state.app.id)
    assert not state.token_valid(token)


def test_cli_options(app_keys: AppKeys, tmp_path: Path) -> None:
    private, public = tmp_path / "app.pem", tmp_path / "app.pub"
    private.write_text(app_keys.private_pem)
    public.write_text(app_keys.public_pem)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    ns = parser.parse_args(["--port", "9100", "--webhook-url", "http://127.0.0.1:3000/webhooks",
                            "--webhook-secret", "s3", "--app-id", "77",
                            "--app-private-key", str(private)])
    config = config_from_args(ns)
    assert (config.port, config.app_id, config.webhook_secret) == (9100, 77, "s3")
    assert config.webhook_url == "http://127.0.0.1:3000/webhooks"
    assert config.app_public_key_pem.strip() == app_keys.public_pem.strip()
    assert config.app_private_key_pem == app_keys.private_pem
    from_public = config_from_args(parser.parse_args(["--app-public-key", str(public)]))
    assert from_public.app_private_key_pem is None and from_public.bot_login == "modelgate[bot]"
    with pytest.raises(SystemExit):
        parser.parse_args(["--port", "1"])  # a key is required


def test_node_ids_use_githubs_legacy_format() -> None:
    assert node_id("User", 21031067) == "MDQ6VXNlcjIxMDMxMDY3"  # from the corpus
    assert node_id("Repository", 186853002) == "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI="
    assert node_id("IntegrationInstallation", 1) == "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="


def test_state_can_be_read_in_parts(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    everything = sandbox.client.state()
    assert sandbox.client.state(only="statuses") == {"statuses": everything["statuses"]}
    parts = sandbox.client.state(only="repos,check_runs")
    assert set(parts) == {"repos", "check_runs"} and parts["repos"] == everything["repos"]
