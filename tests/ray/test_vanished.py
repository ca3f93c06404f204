"""A job whose head restarts (losing its job table), or stops answering, ends as StepError("vanished"):
never "running" forever."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.checkout import StepError
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy
from pipelines.ray_jobs import RayJob, RayTarget
from tests.fixtures.job_repos import HANG, example_with_prelude
from tests.fixtures.ray_head import RayHead

pytestmark = [pytest.mark.ray, pytest.mark.e2e]


def _running_job(repo: Path, work: Path, target: RayTarget, submission_id: str) -> RayJob:
    from ray.job_submission import JobSubmissionClient

    job = RayJob(JobSpec(repo, "staging", work / "out"), JobPolicy(), target, submission_id, 120)
    job.start()
    client = JobSubmissionClient(target.address)
    deadline = time.monotonic() + 60
    while str(client.get_job_status(submission_id).value) != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return job


def test_a_head_restart_or_a_silent_cluster_makes_the_job_vanish(
    own_ray_head: RayHead, tmp_path: Path
) -> None:
    repo = example_with_prelude(tmp_path / "repo", HANG)
    target = RayTarget(own_ray_head.address, tmp_path / "storage", unreachable_seconds=3)
    before = _running_job(repo, tmp_path / "before", target, "mg-before-restart")
    own_ray_head.restart()  # same ports; the new head knows no jobs
    with pytest.raises(StepError) as vanished:
        before.fingerprint()
    assert vanished.value.kind == "vanished"
    assert "mg-before-restart vanished (the head restarted?)" in vanished.value.message

    after = _running_job(repo, tmp_path / "after", target, "mg-after-restart")
    own_ray_head.stop()  # and it never comes back
    started = time.monotonic()
    with pytest.raises(StepError) as silent:
        after.wait()
    assert silent.value.kind == "vanished" and "has not answered for 3 s" in silent.value.message
    assert time.monotonic() - started < 10
