"""A fork's pull request never gets the repository's job secrets, not even once a maintainer approved
it with ``/retrain`` (as GitHub Actions gives fork PRs no secrets). The fork carries the hostile code
too: its approved run reaches nothing of the App either."""

from __future__ import annotations

import pytest

from bot.runs.job_secrets import job_environment
from tests.fixtures.hostile_job import SECRET_PROBE
from tests.fixtures.hostile_repo import hostile_files
from tests.fixtures.hostile_world import FULL, NAME, OWNER, SECRET_NAME, World, assert_contained

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_an_approved_fork_pr_runs_without_the_job_secrets(world: World) -> None:
    world.create_repo()
    # the repository's own branches get the secret: the file is in place and valid
    own_branches = job_environment(world.settings.job_env_dir, FULL, from_fork=False)
    assert own_branches == {SECRET_NAME: world.job_secret}
    targets = world.hostile_targets()

    sha, pr = world.fork_pr(hostile_files(targets))
    [waiting] = world.wait(sha)
    assert (waiting.state, waiting.error) == ("cancelled", "waiting for approval")
    world.github.comment(OWNER, NAME, pr, "Looks fine.\n/retrain", author="bob")
    runs = world.wait(sha, count=2)

    run = runs[-1]
    assert run.state == "succeeded" and run.result is not None, run.error
    assert run.result["verdict"] == "passed", run.result  # no champion yet: absolute gates
    log = world.published_log(pr)
    tried = {(a["stage"], a["attack"]): a for a in assert_contained(world, targets, log)}
    assert tried["data", "print-job-secrets"]["detail"] == f"printed ['{SECRET_NAME}: unset']"
    for stream in ("", "stderr ", "logging "):
        assert f"{SECRET_PROBE} {stream}{SECRET_NAME}=" in log
    assert f"{SECRET_PROBE} {SECRET_NAME}=<unset>" in log
    assert "***" not in log and world.job_secret not in log
