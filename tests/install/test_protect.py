"""``modelgate protect`` against the stand-in over real HTTP: the rules a branch had are kept, the App's
``modelgate/staging`` is added once, the stand-in then refuses a merge without it (and without it from
this App), and an installation without ``administration: write`` gets a clear refusal."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from githubkit_schemas.latest.models import BranchProtection, ProtectedBranch

from bot.cli import main
from github_standin.client import SandboxError
from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_apps import CreatedApp, create_app
from tests.fixtures.standin_repos import REPO, seed

PROTECTION = f"{REPO}/branches/main/protection"
EXISTING = {
    "required_status_checks": {"strict": True, "contexts": ["ci/lint"]},
    "enforce_admins": True,
    "required_pull_request_reviews": {"dismiss_stale_reviews": True, "required_approving_review_count": 1,
                                      "dismissal_restrictions": {"users": ["octo"], "teams": []}},
    "restrictions": {"users": ["octo"], "teams": []},
    "required_linear_history": True,
}


def run_protect(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox: SandboxHandle, app_id: int,
                pem: str, *args: str) -> int:
    """``modelgate protect`` as the App ``app_id`` (its key in a file), GitHub being the stand-in."""
    key = tmp_path / f"app-{app_id}.pem"
    key.write_text(pem)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name, value in {"APP_ID": str(app_id), "PRIVATE_KEY_PATH": str(key),
                        "GITHUB_API_URL": sandbox.url, "DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(f"MODELGATE_{name}", value)
    monkeypatch.delenv("MODELGATE_PRIVATE_KEY", raising=False)
    return main(["protect", *args])


def protection(app: CreatedApp, sandbox: SandboxHandle) -> dict[str, Any]:
    """The branch's rules, read over REST as the App, and checked against GitHub's schema."""
    found = sandbox.rest(app.installation_token()).get(PROTECTION)
    assert found.status_code == 200, found.text
    BranchProtection.model_validate(found.json())
    return dict(found.json())


def puts(sandbox: SandboxHandle) -> int:
    """How many times the branch protection was replaced over REST."""
    return sum(1 for r in sandbox.client.state("requests")["requests"]
               if r["operationId"] == "repos/update-branch-protection" and r["status"] == 200)


def test_protect_keeps_the_rules_adds_the_check_once_and_the_merge_needs_it(
        sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seeded = seed(sandbox)
    app = create_app(sandbox, f"modelgate-{uuid.uuid4().hex[:8]}")
    seeded_rules = sandbox.rest(app.installation_token()).put(PROTECTION, json=EXISTING)
    assert seeded_rules.status_code == 200, seeded_rules.text
    ProtectedBranch.model_validate(seeded_rules.json())
    before = protection(app, sandbox)

    assert run_protect(monkeypatch, tmp_path, sandbox, app.id, app.pem, "octo/hello") == 0
    printed = capsys.readouterr().out
    assert f"octo/hello@main: now requires modelgate/staging from App {app.id} before merging" in printed
    assert ("kept: required checks ci/lint; branches must be up to date (strict); rules apply to "
            "administrators; 1 approving review(s) required; pushes restricted; "
            "required linear history") in printed
    after = protection(app, sandbox)
    assert after["required_status_checks"]["checks"] == [{"context": "ci/lint", "app_id": None},
                                                         {"context": "modelgate/staging", "app_id": app.id}]
    unchanged = ("enforce_admins", "required_pull_request_reviews", "restrictions", "required_linear_history",
                 "allow_force_pushes", "allow_deletions")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert after["required_status_checks"]["strict"] is True
    assert after["required_pull_request_reviews"]["dismissal_restrictions"]["users"][0]["login"] == "octo"
    assert puts(sandbox) == 2  # the seeding and protect's

    assert run_protect(monkeypatch, tmp_path, sandbox, app.id, app.pem, "octo/hello", "--branch", "main") == 0
    assert capsys.readouterr().out.strip() == (
        f"octo/hello@main: modelgate/staging is already required from App {app.id}; nothing changed")
    assert protection(app, sandbox) == after and puts(sandbox) == 2

    # the stand-in enforces it: ci/lint from anyone, modelgate/staging only from this App
    configured = sandbox.rest()
    for context in ("ci/lint", "modelgate/staging"):
        configured.post(f"{REPO}/statuses/{seeded.head_sha}", json={"state": "success", "context": context})
    with pytest.raises(SandboxError) as refused:
        sandbox.client.merge("octo", "hello", seeded.number, author="octo")
    assert refused.value.status == 405
    assert refused.value.body["message"] == 'Required status check "modelgate/staging" is expected.'
    sandbox.rest(app.installation_token()).post(f"{REPO}/statuses/{seeded.head_sha}",
                                                json={"state": "success", "context": "modelgate/staging"})
    assert sandbox.client.merge("octo", "hello", seeded.number, author="octo")["merged"] is True


def test_protect_turns_an_any_source_check_into_this_apps(
        sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seed(sandbox)  # main requires modelgate/staging from any source (the stand-in's default)
    app = create_app(sandbox, f"modelgate-{uuid.uuid4().hex[:8]}")
    assert run_protect(monkeypatch, tmp_path, sandbox, app.id, app.pem, "octo/hello") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"octo/hello@main: modelgate/staging was required from any source; "
        f"now it must come from App {app.id}",
        "kept: no other rules"]
    assert protection(app, sandbox)["required_status_checks"]["checks"] == [
        {"context": "modelgate/staging", "app_id": app.id}]


def test_protect_without_the_administration_permission_says_what_to_do(
        sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seed(sandbox)
    # the stand-in's configured App has no administration permission
    code = run_protect(monkeypatch, tmp_path, sandbox, sandbox.app_id, sandbox.private_key_pem, "octo/hello")
    assert code == 1
    printed = capsys.readouterr().out
    assert printed.startswith("modelgate protect: octo/hello: the App's installation may not change branch "
                              "protection: it needs the `administration: write` permission.")
    assert puts(sandbox) == 0
    app = create_app(sandbox, f"modelgate-{uuid.uuid4().hex[:8]}")
    assert run_protect(monkeypatch, tmp_path, sandbox, app.id, app.pem, "octo/hello", "--branch", "nope") == 1
    assert capsys.readouterr().out.strip() == "modelgate protect: octo/hello: no such branch"
