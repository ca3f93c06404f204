"""The App with ``MODELGATE_EXECUTOR=ray`` as it runs in production: a repository needing LightGBM
(declared only in its ``requirements.txt``) passes staging, merges and is promoted with its pins, its
jobs running on a real local Ray head (one Ray job per run) in the App's prebuilt environment, which
the head mounts read-only (``MODELGATE_RAY_ENVIRONMENTS=prebuilt``), and talking to the App only through
an S3 bucket (``MODELGATE_RAY_STORAGE=s3://...``). Pins installed by Ray's ``uv`` runtime environment
are ``test_ray_job``'s (it costs Ray a copy of the driver's virtualenv, so it is tested once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.model_files import copy_model_files
from pipelines.ray_jobs.storage import SubmissionStorage
from tests.fixtures.ray_head import RayHead
from tests.fixtures.s3_standin import S3Standin
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = [pytest.mark.ray, pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(__file__).parents[1] / "fixtures" / "repos" / "wine-lightgbm"
OWNER, NAME = "acme", "wine-lightgbm"


def test_a_repository_with_its_own_requirements_is_staged_and_promoted_through_ray(
    sandbox: SandboxHandle, ray_head: RayHead, s3: S3Standin, tmp_path: Path, shared_environments: Path
) -> None:
    github, env_cache = sandbox.client, shared_environments
    storage = s3.url()
    settings = {"executor": "ray", "ray_address": ray_head.address, "ray_storage": storage,
                "ray_environments": "prebuilt", "env_cache_dir": str(env_cache)}
    with running_app(sandbox, tmp_path / "data", **settings) as services:
        github.create_repo(OWNER, NAME, path=REPO)
        github.set_protection(OWNER, NAME, [])
        github.commit(OWNER, NAME, {"NOTES.md": "through ray\n"}, branch="ray", author="ada")
        pr = int(github.open_pull(OWNER, NAME, "ray", author="ada", title="ray")["number"])
        [staging] = wait_for_runs(services, lambda r: r.kind == "staging" and r.pr_number == pr, 1,
                                  timeout=600)
        assert staging.result is not None, staging.error
        assert staging.result["status"] == "passed", staging.result
        assert "requirements.txt (Python 3.11" in str(staging.result["environment"])

        merged = github.merge(OWNER, NAME, pr, author="maintainer")
        [production] = wait_for_runs(services, lambda r: r.kind == "production" and r.trigger ==
                                     "pull_request.merged" and r.head_sha == merged["sha"], 1, timeout=600)
        assert production.result is not None, production.error
        assert production.result["production"]["state"] == "promoted", production.result
        tracking_uri = services.settings.mlflow_tracking_uri
        assert tracking_uri is not None
        model = copy_model_files(f"models:/{NAME}/1", tracking_uri, tmp_path / "promoted")
        assert "lightgbm==4.7.0" in (model / "requirements.txt").read_text().split()

    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(ray_head.address)
    for run in (staging, production):
        submission = f"modelgate-run-{run.id}-{run.kind}"
        job = client.get_job_info(submission)
        assert job.status == "SUCCEEDED"
        assert f'"python": "{env_cache}/' in job.entrypoint  # the App's prebuilt environment
        assert "uv" not in (job.runtime_env or {})
        outputs = SubmissionStorage.under(storage, submission)
        assert outputs.fs.exists(f"{outputs.out}/evaluation.json")  # the job's outputs went through S3
