"""Staging end to end: the stand-in sends real PR webhooks, ``serve`` runs the real pipeline
(subprocess, scikit-learn, MLflow) and reports back; assertions read the stand-in's state."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import pipelines
from bot.server import Services
from bot.store import RunRecord
from github_standin.client import SandboxError
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = pytest.mark.e2e

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
OWNER, NAME = "acme", "wine-classifier"
FULL = f"{OWNER}/{NAME}"
WORSE_MODEL = '''from sklearn.dummy import DummyClassifier


def train(X_train, y_train):
    return DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
'''
CRASHING_MODEL = '''def train(X_train, y_train):
    raise RuntimeError("feature store unreachable")
'''
INVALID_CONFIG = "model:\n  name: wine\n  task: clustering\n"
SLOW_MODEL = '''import time

from sklearn.linear_model import LogisticRegression


def train(X_train, y_train):
    time.sleep({seconds})
    return LogisticRegression(max_iter=1000).fit(X_train, y_train)
'''


class Staging:
    def __init__(self, sandbox: SandboxHandle, services: Services, create_repo: bool = True) -> None:
        self.sandbox, self.services = sandbox, services
        if create_repo:
            sandbox.client.create_repo(OWNER, NAME, path=EXAMPLE)

    def open_pr(self, files: dict[str, str | None], branch: str = "change") -> tuple[str, int]:
        head = self.sandbox.client.commit(OWNER, NAME, files, branch=branch, author="ada")
        pull = self.sandbox.client.open_pull(OWNER, NAME, branch, author="ada", title=branch)
        return head["sha"], int(pull["number"])

    def runs(self, pr: int) -> list[RunRecord]:
        return sorted(self.services.runs.list_runs(repository=FULL, pr_number=pr, kind="staging"),
                      key=lambda r: r.id)

    def wait(self, pr: int, count: int = 1) -> list[RunRecord]:
        return wait_for_runs(self.services, lambda r: r.kind == "staging" and r.pr_number == pr, count)

    def statuses(self, sha: str) -> list[dict[str, Any]]:
        return [s for s in self.sandbox.client.state()["statuses"]
                if s["sha"] == sha and s["context"] == "modelgate/staging"]

    def check(self, sha: str) -> dict[str, Any]:
        [check] = [c for c in self.sandbox.client.state()["check_runs"] if c["head_sha"] == sha]
        return check


@pytest.fixture
def staging(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[Staging]:
    with running_app(sandbox, tmp_path, mlflow_ui_url="http://mlflow.example.com") as services:
        yield Staging(sandbox, services)


def test_a_good_pr_goes_pending_then_green_and_can_merge(staging: Staging) -> None:
    sha, pr = staging.open_pr({"NOTES.md": "tuning later\n"})
    [run] = staging.wait(pr)
    assert run.state == "succeeded" and run.result is not None and run.result["verdict"] == "passed"
    states = [s["state"] for s in staging.statuses(sha)]
    assert states[0] == "pending" and states[-1] == "success"
    description = staging.statuses(sha)[-1]["description"]
    assert description.startswith("accuracy ") and "gates passed" in description
    check = staging.check(sha)
    assert (check["status"], check["conclusion"]) == ("completed", "success")
    assert "| accuracy min" in check["output"]["summary"]
    final = check["output"]["summary"]
    live = [summary for summary in check["summaries"] if "| Step" in summary and summary != final]
    assert live and "| fetch " in live[0]  # progress went out while the run trained
    assert "| train | ✅ done |" in _cells(final)  # the timings stay
    assert staging.sandbox.client.merge(OWNER, NAME, pr, author="maintainer")["merged"] is True


def test_a_pr_shows_queued_at_once_and_the_worker_that_takes_it_moves_the_same_check_run(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # the PRs' .modelgate.yml is invalid: their runs end as soon as a worker reads it (no training)
    with running_app(sandbox, tmp_path, workers=0, cancel_at_exit=False) as services:  # no worker free
        staging = Staging(sandbox, services)
        first, pr1 = staging.open_pr({".modelgate.yml": INVALID_CONFIG}, branch="one")
        second, pr2 = staging.open_pr({".modelgate.yml": INVALID_CONFIG, "NOTES.md": "two\n"}, branch="two")
        def acknowledged(sha: str) -> bool:  # the status comes first, then the check run
            return any(c["head_sha"] == sha for c in sandbox.client.state()["check_runs"])

        deadline = time.monotonic() + 10
        while not (acknowledged(first) and acknowledged(second)) and time.monotonic() < deadline:
            time.sleep(0.05)
        [queued] = staging.statuses(first)  # runs ahead: the repository's first push queued one too
        ahead = int(re.fullmatch(r"modelgate: queued \((\d+) ahead\)", queued["description"])[1])
        assert queued["state"] == "pending"
        assert staging.statuses(second)[0]["description"] == f"modelgate: queued ({ahead + 1} ahead)"
        assert staging.check(first)["status"] == "queued"

    with running_app(sandbox, tmp_path) as services:  # workers: they take the queued runs
        staging = Staging(sandbox, services, create_repo=False)
        runs = wait_for_runs(services, lambda r: r.kind == "staging" and r.pr_number in (pr1, pr2), 2)
        assert [run.state for run in runs] == ["failed", "failed"]  # the invalid configuration
        check = staging.check(first)  # still one check run for the commit, now completed
        assert (check["status"], check["conclusion"]) == ("completed", "failure")
        assert "model.task" in check["output"]["summary"]
        states = [s["state"] for s in staging.statuses(first)]
        assert states == ["pending", "pending", "failure"]


def test_a_worse_model_fails_and_cannot_merge(staging: Staging) -> None:
    sha, pr = staging.open_pr({"model.py": WORSE_MODEL})
    [run] = staging.wait(pr)
    assert run.result is not None and run.result["verdict"] == "failed"
    assert staging.statuses(sha)[-1]["state"] == "failure"
    assert staging.check(sha)["conclusion"] == "failure"
    assert "❌" in staging.check(sha)["output"]["summary"]
    with pytest.raises(SandboxError) as refused:
        staging.sandbox.client.merge(OWNER, NAME, pr, author="maintainer")
    assert refused.value.status == 405


def test_a_broken_config_is_reported_not_crashed(staging: Staging) -> None:
    sha, pr = staging.open_pr({".modelgate.yml": "model:\n  name: wine\n  task: clustering\n"})
    [run] = staging.wait(pr)
    assert run.state == "failed"
    assert staging.statuses(sha)[-1]["state"] == "failure"
    summary = staging.check(sha)["output"]["summary"]
    assert "model.task" in summary and "data" in summary


def test_a_crashing_train_is_an_error_with_the_log(staging: Staging) -> None:
    sha, pr = staging.open_pr({"model.py": CRASHING_MODEL})
    [run] = staging.wait(pr)
    assert run.state == "failed"
    final = staging.statuses(sha)[-1]
    assert final["state"] == "error"
    summary = staging.check(sha)["output"]["summary"]
    assert "feature store unreachable" in summary and "```" in summary
    assert "| train | ❌ failed |" in _cells(summary) and "| report | ⏭️ skipped |" in _cells(summary)


def test_a_timeout_fails_saying_so(staging: Staging) -> None:
    config = (EXAMPLE / ".modelgate.yml").read_text().replace("timeout_seconds: 300", "timeout_seconds: 3")
    sha, pr = staging.open_pr({"model.py": SLOW_MODEL.format(seconds=60), ".modelgate.yml": config})
    [run] = staging.wait(pr)
    assert run.state == "failed" and run.error is not None and "timed out" in run.error
    assert staging.statuses(sha)[-1]["state"] == "failure"
    assert "timed out" in staging.statuses(sha)[-1]["description"]
    assert staging.check(sha)["conclusion"] == "timed_out"


def test_a_new_push_supersedes_the_running_run(staging: Staging) -> None:
    old_sha, pr = staging.open_pr({"model.py": SLOW_MODEL.format(seconds=60)})
    deadline = time.monotonic() + 30
    while not [s for s in staging.statuses(old_sha) if s["state"] == "pending"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    new = staging.sandbox.client.commit(OWNER, NAME, {"model.py": (EXAMPLE / "model.py").read_text()},
                                        branch="change")
    runs = staging.wait(pr, count=2)
    assert [r.state for r in runs] == ["superseded", "succeeded"]
    final_old = staging.statuses(old_sha)[-1]
    assert (final_old["state"], final_old["description"]) == ("error", f"superseded by {new['sha'][:7]}")
    assert staging.statuses(new["sha"])[-1]["state"] == "success"


def test_an_unchanged_rerun_reuses_the_cached_result(staging: Staging) -> None:
    sha, pr = staging.open_pr({"NOTES.md": "cache me\n"})
    [first] = staging.wait(pr)
    staging.sandbox.client.set_permission(OWNER, NAME, "ada", "write")
    staging.sandbox.client.comment(OWNER, NAME, pr, "/retrain", author="ada")
    runs = staging.wait(pr, count=2)
    assert runs[1].result is not None and first.result is not None
    assert runs[1].result["cached_from"] == first.result["mlflow_run_id"]
    checks = [c for c in staging.sandbox.client.state()["check_runs"] if c["head_sha"] == sha]
    assert "Reused the result of MLflow run" in checks[-1]["output"]["summary"]
    assert "| train | ⏭️ skipped |" in _cells(checks[-1]["output"]["summary"])  # nothing trained


def _cells(summary: str) -> str:
    """The summary with table cells' padding removed: ``| train | ✅ done | 1.20 s |``."""
    lines = summary.splitlines()
    return "\n".join(" | ".join(cell.strip() for cell in line.split("|")).strip() for line in lines)


def test_drafts_wait_when_run_on_draft_is_false(staging: Staging) -> None:
    config = (EXAMPLE / ".modelgate.yml").read_text() + "run_on_draft: false\n"
    head = staging.sandbox.client.commit(OWNER, NAME, {".modelgate.yml": config}, branch="wip", author="ada")
    pull = staging.sandbox.client.open_pull(OWNER, NAME, "wip", author="ada", title="WIP", draft=True)
    [run] = staging.wait(int(pull["number"]))
    assert (run.state, run.error) == ("cancelled", "draft pull request (run_on_draft: false)")
    assert staging.statuses(head["sha"]) == []  # nothing pending on a draft that does not run


def test_one_sticky_comment_with_served_plots_is_edited_on_each_run(staging: Staging) -> None:
    sha, pr = staging.open_pr({"NOTES.md": "first\n"})
    staging.wait(pr)
    staging.sandbox.client.commit(OWNER, NAME, {"NOTES.md": "second\n"}, branch="change")
    staging.wait(pr, count=2)
    comments = [c for c in staging.sandbox.client.state()["comments"] if c["issue_number"] == pr]
    [comment] = comments  # edited in place, never a second one
    body = comment["body"]
    assert body.startswith("<!-- modelgate:staging -->")
    assert body.count("<details>") == 1 and "Previous run" in body
    images = re.findall(r"!\[[^\]]*\]\((http://127\.0\.0\.1:\d+/reports/[0-9a-f]{32}/[a-z_]+\.png)\)", body)
    assert len(images) >= 4
    for url in images[:4]:
        png = httpx.get(url)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert re.search(r"http://mlflow\.example\.com/#/experiments/\d+/runs/[0-9a-f]{32}", body)
    assert re.search(r"/reports/[0-9a-f]{32}/log\.txt", body) and "/commit/" in body
    check = staging.check(sha)
    assert check["output"]["text"] and "/reports/" in check["output"]["text"]
