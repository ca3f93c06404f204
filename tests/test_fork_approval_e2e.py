"""Untrusted code waits for a maintainer, end to end: the stand-in sends fork and first-time PRs
and check-button presses to a running ``serve``; nothing is fetched or trained until someone with
write access approves that very commit ("Re-run", the "Retrain" action, "Re-run all checks")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pipelines
from bot.feedback.replies import retrain_head_moved
from bot.server import Services
from bot.store import RunRecord, StagingJob
from github_standin.client import SandboxError
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = pytest.mark.e2e

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
OWNER, NAME = "acme", "wine-classifier"
FULL = f"{OWNER}/{NAME}"
CONFIG = (EXAMPLE / ".modelgate.yml").read_text()
WAITING = "waiting for a maintainer: comment /retrain to run"
WAITED = "waiting for approval"  # the run's error
CHECK = "modelgate / staging"


class Gate:
    """The repository, its fork and what the App and the stand-in recorded."""

    def __init__(self, sandbox: SandboxHandle, services: Services) -> None:
        self.sandbox, self.services, self.github = sandbox, services, sandbox.client

    def create(self, config: str = CONFIG) -> None:
        self.github.create_repo(OWNER, NAME, path=EXAMPLE, files={".modelgate.yml": config})
        self.github.set_permission(OWNER, NAME, "bob", "write")

    def fork_pr(self, files: dict[str, str | None]) -> tuple[str, int]:
        self.github.fork(OWNER, NAME, "eve")
        head = self.github.commit("eve", NAME, files, branch="idea", author="eve")
        pull = self.github.open_pull(OWNER, NAME, "eve:idea", author="eve", title="idea")
        return str(head["sha"]), int(pull["number"])

    def same_repo_pr(self, author: str, files: dict[str, str | None]) -> tuple[str, int]:
        head = self.github.commit(OWNER, NAME, files, branch=f"{author}-change", author=author)
        pull = self.github.open_pull(OWNER, NAME, f"{author}-change", author=author)
        return str(head["sha"]), int(pull["number"])

    def runs(self, sha: str) -> list[RunRecord]:
        runs = self.services.runs.list_runs(repository=FULL, kind="staging")
        return sorted((r for r in runs if r.head_sha == sha), key=lambda r: r.id)

    def wait(self, sha: str, count: int = 1) -> list[RunRecord]:
        """The staging runs on ``sha`` once ``count`` exist and all finished."""
        return wait_for_runs(self.services, lambda r: r.kind == "staging" and r.head_sha == sha, count)

    def statuses(self, sha: str) -> list[dict[str, Any]]:
        return [s for s in self.github.state()["statuses"]
                if s["sha"] == sha and s["context"] == "modelgate/staging"]

    def checks(self, sha: str) -> list[dict[str, Any]]:
        return [c for c in self.github.state()["check_runs"] if c["head_sha"] == sha and c["name"] == CHECK]

    def downloads(self, sha: str) -> int:
        return sum(1 for r in self.github.state()["requests"]
                   if r["operationId"] == "repos/download-tarball-archive" and sha in r["path"])

    def assert_waiting(self, sha: str, why: str) -> dict[str, Any]:
        """``sha`` waits for a maintainer and nothing of it was fetched; returns its check run."""
        [run] = self.wait(sha)
        assert (run.state, run.error, run.result) == ("cancelled", "waiting for approval", None)
        final = self.statuses(sha)[-1]
        assert (final["state"], final["description"]) == ("pending", WAITING)
        [check] = self.checks(sha)
        assert (check["status"], check["conclusion"]) == ("completed", "action_required")
        assert check["output"]["title"] == "Waiting for a maintainer"
        summary = check["output"]["summary"]
        assert why in summary and "write permission" in summary and "`/retrain`" in summary
        assert "Re-run" in summary and sha[:7] in summary
        assert [a["identifier"] for a in check["actions"]] == ["retrain"]
        assert self.downloads(sha) == 0
        return dict(check)

    def assert_ran(self, sha: str, runs: list[RunRecord]) -> None:
        """The newest run on ``sha`` trained the candidate and reported a verdict."""
        run = runs[-1]
        assert run.state == "succeeded" and run.result is not None and run.result["verdict"] == "passed"
        assert self.statuses(sha)[-1]["state"] == "success"
        newest = self.checks(sha)[-1]
        assert newest["conclusion"] == "success"
        assert [a["identifier"] for a in newest["actions"]] == ["retrain"]
        assert self.downloads(sha) >= 1


@pytest.fixture
def gate(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[Gate]:
    with running_app(sandbox, tmp_path) as services:
        yield Gate(sandbox, services)


def test_a_fork_waits_until_a_maintainer_reruns_and_each_push_waits_again(gate: Gate) -> None:
    gate.create()
    sha, pr = gate.fork_pr({"NOTES.md": "from a fork\n"})
    check = gate.assert_waiting(sha, "comes from a fork")
    assert all(s["description"] == WAITING for s in gate.statuses(sha))  # never "training"
    with pytest.raises(SandboxError) as blocked:
        gate.github.merge(OWNER, NAME, pr, author=OWNER)
    assert blocked.value.status == 405
    with pytest.raises(SandboxError) as refused:  # the fork's author cannot approve herself
        gate.github.rerun_check(OWNER, NAME, check["id"], "eve")
    assert refused.value.status == 403

    gate.github.rerun_check(OWNER, NAME, check["id"], OWNER)
    runs = gate.wait(sha, count=2)
    approved = runs[-1].job_as(StagingJob)
    assert approved.approved_sha == sha and approved.approved_by == OWNER
    gate.assert_ran(sha, runs)
    reports = [c for c in gate.github.state()["comments"] if "<!-- modelgate:staging -->" in c["body"]]
    assert [c["issue_number"] for c in reports] == [pr]  # the press found its PR (GitHub omits forks')

    pushed = gate.github.commit("eve", NAME, {"NOTES.md": "second thoughts\n"}, branch="idea", author="eve")
    gate.assert_waiting(str(pushed["sha"]), "comes from a fork")
    assert gate.statuses(sha)[-1]["state"] == "success"  # the approved commit keeps its verdict


def test_the_retrain_action_and_rerun_all_checks_approve_the_pressed_commit(gate: Gate) -> None:
    gate.create()
    sha, _ = gate.fork_pr({"NOTES.md": "from a fork\n"})
    check = gate.assert_waiting(sha, "comes from a fork")
    gate.github.request_check_action(OWNER, NAME, check["id"], "retrain", "bob")
    runs = gate.wait(sha, count=2)
    assert runs[-1].trigger == "check_run.requested_action"
    gate.assert_ran(sha, runs)

    pushed = str(gate.github.commit("eve", NAME, {"NOTES.md": "v2\n"}, branch="idea", author="eve")["sha"])
    waiting = gate.assert_waiting(pushed, "comes from a fork")
    gate.github.rerun_check_suite(OWNER, NAME, waiting["suite_id"], OWNER)
    runs = gate.wait(pushed, count=2)
    assert runs[-1].trigger == "check_suite.rerequested"
    gate.assert_ran(pushed, runs)


def test_first_time_contributors_wait_when_the_default_branch_says_so(gate: Gate) -> None:
    gate.create(CONFIG + "require_approval: first_time\n")
    lifted = CONFIG + "require_approval: forks\n"  # the PR's own config cannot lift the rule
    newbie_sha, _ = gate.same_repo_pr("newbie", {".modelgate.yml": lifted, "NOTES.md": "hi\n"})
    gate.assert_waiting(newbie_sha, "first-time contributor")

    bob_sha, bob_pr = gate.same_repo_pr("bob", {"NOTES.md": "tuning later\n"})
    runs = gate.wait(bob_sha)
    gate.assert_ran(bob_sha, runs)
    [check] = gate.checks(bob_sha)
    gate.github.request_check_action(OWNER, NAME, check["id"], "retrain", OWNER)  # a same-repo PR
    runs = gate.wait(bob_sha, count=2)
    assert [r.pr_number for r in runs] == [bob_pr, bob_pr]
    assert runs[-1].trigger == "check_run.requested_action"
    gate.assert_ran(bob_sha, runs)


def test_without_first_time_a_newcomers_same_repo_pr_runs(gate: Gate) -> None:
    gate.create()
    strict = CONFIG + "require_approval: first_time\n"  # only the default branch's setting counts
    sha, _ = gate.same_repo_pr("newbie", {".modelgate.yml": strict, "NOTES.md": "hi\n"})
    gate.assert_ran(sha, gate.wait(sha))


def test_a_maintainers_retrain_comment_approves_the_fork_head_and_a_readers_does_not(gate: Gate) -> None:
    gate.create(CONFIG + "commands: {retrain: {permission: read}}\n")  # readers may retrain
    gate.github.set_permission(OWNER, NAME, "rita", "read")
    sha, pr = gate.fork_pr({"NOTES.md": "from a fork\n"})
    gate.assert_waiting(sha, "comes from a fork")
    gate.github.comment(OWNER, NAME, pr, "/retrain", author="rita")
    runs = gate.wait(sha, count=2)
    assert runs[-1].job_as(StagingJob).approved_sha is None and runs[-1].error == "waiting for approval"
    assert gate.downloads(sha) == 0  # a reader's /retrain runs nothing of the fork

    gate.github.comment(OWNER, NAME, pr, "Looks safe.\n/retrain", author="bob")
    runs = gate.wait(sha, count=3)
    assert runs[-1].job_as(StagingJob).approved_by == "bob" and runs[-1].pr_number == pr
    gate.assert_ran(sha, runs)
    assert any("<!-- modelgate:staging -->" in c["body"] for c in gate.github.state()["comments"])

    pushed = str(gate.github.commit("eve", NAME, {"NOTES.md": "v2\n"}, branch="idea", author="eve")["sha"])
    gate.assert_waiting(pushed, "comes from a fork")  # each push needs a new approval


def test_a_push_before_a_maintainers_retrain_is_handled_is_not_approved(gate: Gate) -> None:
    """The race: bob comments ``/retrain`` on the waiting head; eve pushes before the App handles
    the comment (its delivery is late). The pushed head is not approved and keeps waiting, the
    commented one is not run (the PR moved on), and the reply says so."""
    gate.create()
    sha, pr = gate.fork_pr({"NOTES.md": "from a fork\n"})
    gate.assert_waiting(sha, "comes from a fork")
    hook = gate.github.state()["config"]["webhook_url"]
    gate.github.set_webhook_url(None)  # the comment's delivery is held up...
    [late] = gate.github.comment(OWNER, NAME, pr, "Looks safe.\n/retrain", author="bob")["deliveries"]
    gate.github.set_webhook_url(hook)
    pushed = str(gate.github.commit("eve", NAME, {"NOTES.md": "and now something else\n"}, branch="idea",
                                    author="eve")["sha"])
    gate.assert_waiting(pushed, "comes from a fork")
    gate.github.redeliver(late["guid"])  # ...and arrives after the push

    wait_for_runs(gate.services, lambda r: r.kind == "command")
    runs = gate.wait(pushed, count=2)  # the push's run and the one /retrain queued: both wait
    assert [(r.error, r.job_as(StagingJob).approved_sha) for r in runs] == [(WAITED, None)] * 2
    assert gate.downloads(pushed) == 0 and gate.downloads(sha) == 0  # nothing of the fork ran
    assert gate.statuses(pushed)[-1]["description"] == WAITING
    replies = [c["body"] for c in gate.github.state()["comments"] if c["via_app"] and "@bob" in c["body"]]
    assert replies == [retrain_head_moved("bob", sha, pushed)]

    time.sleep(1)  # comments carry whole seconds: one within the push's second would not approve it
    gate.github.comment(OWNER, NAME, pr, "/retrain", author="bob")  # a new approval, after the push
    gate.assert_ran(pushed, gate.wait(pushed, count=3))
