"""A whole staging run with ``MODELGATE_EXECUTOR=ray``: the trusted side (config, cache, gates,
MLflow) here, the job on a real local Ray head; the outcome is the local run's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import pipelines
from pipelines.job_process import JobPolicy
from pipelines.ray_jobs import RayTarget
from pipelines.steps import run_pipeline
from pipelines.tracking import Tracker

pytestmark = [pytest.mark.ray, pytest.mark.e2e, pytest.mark.timeout(300)]

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"


def test_a_staging_run_through_ray_passes_and_is_logged(ray_target: RayTarget, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tags = {"modelgate.repository": "acme/wine", "modelgate.run_id": "41"}
    policy = JobPolicy(ray=ray_target)

    result = run_pipeline(repo, "staging", uri, tags=tags, policy=policy, timeout_seconds=240)

    assert (result.status, result.error) == ("passed", None)
    assert result.metrics["candidate"]["accuracy"] > 0.85
    assert result.environment == "the App's default job runtime"
    run = Tracker(uri).client.get_run(str(result.mlflow_run_id))
    assert run.data.tags["modelgate.repository"] == "acme/wine"
    from ray.job_submission import JobSubmissionClient

    jobs = [j for j in JobSubmissionClient(ray_target.address).list_jobs() if j.submission_id
            and j.submission_id.startswith("modelgate-run-41-")]
    assert [str(j.status.value) for j in jobs] == ["SUCCEEDED"]  # one Ray job for the run
