"""The result cache cannot be planted across commits (issue 12: "a commit pushed briefly can plant a
'passed' result that a later clean run reuses"). A fork's approved job trains a good model, then
rewrites its own checkout to look like a colleague's commit whose model fails its gates; that
colleague's run must still train and fail, not reuse the fork's "passed"."""

from __future__ import annotations

import pytest

from tests.fixtures.example_repo import WORSE_MODEL
from tests.fixtures.hostile_repo import poisoning_files
from tests.fixtures.hostile_world import NAME, OWNER, World

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_a_job_cannot_file_its_result_under_another_commits_code(world: World) -> None:
    world.create_repo()
    victim_changes: dict[str, str | None] = {"model.py": WORSE_MODEL}
    fork_sha, fork_pr = world.fork_pr(poisoning_files(victim_changes))
    world.wait(fork_sha)  # a fork's commit waits for a maintainer
    world.github.comment(OWNER, NAME, fork_pr, "/retrain", author="bob")
    planted = world.wait(fork_sha, count=2)[-1]
    assert planted.result is not None and planted.result["verdict"] == "passed", planted.error

    sha, _ = world.open_pr(victim_changes, author="carol", branch="majority-class")
    [run] = world.wait(sha)
    assert run.result is not None, run.error
    reused, status = run.result.get("cached_from"), world.final_status(sha)
    assert reused != planted.result["mlflow_run_id"], (
        f"carol's run reused the fork's result (MLflow run {reused}): verdict {run.result['verdict']!r}, "
        f"status {status['state']!r} ({status['description']}) for a model that always predicts the "
        "majority class")
    assert run.result["verdict"] == "failed"
    assert status["state"] == "failure"
