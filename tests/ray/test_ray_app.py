"""The App with ``MODELGATE_EXECUTOR=ray``: a PR passes staging, merges and is promoted, its jobs
running on a real local Ray head (one Ray job per run). A repository environment's pins reaching the
job through Ray's ``uv`` runtime environment is ``test_ray_job``'s (it costs Ray a copy of the
driver's virtualenv, so it is tested once)."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipelines
from tests.fixtures.ray_head import RayHead
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = [pytest.mark.ray, pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(pipelines.__file__).parent / "examples" / "wine-classifier"
OWNER, NAME = "acme", "wine-classifier"


def test_a_pr_is_staged_and_promoted_through_ray(
    sandbox: SandboxHandle, ray_head: RayHead, tmp_path: Path, shared_environments: Path
) -> None:
    github = sandbox.client
    (tmp_path / "storage").mkdir()  # a volume the App and the nodes share
    settings = {"executor": "ray", "ray_address": ray_head.address, "ray_storage": str(tmp_path / "storage"),
                "env_cache_dir": str(shared_environments)}
    with running_app(sandbox, tmp_path / "data", **settings) as services:
        github.create_repo(OWNER, NAME, path=REPO)
        github.set_protection(OWNER, NAME, [])
        github.commit(OWNER, NAME, {"NOTES.md": "through ray\n"}, branch="ray", author="ada")
        pr = int(github.open_pull(OWNER, NAME, "ray", author="ada", title="ray")["number"])
        [staging] = wait_for_runs(services, lambda r: r.kind == "staging" and r.pr_number == pr, 1,
                                  timeout=600)
        assert staging.result is not None, staging.error
        assert staging.result["status"] == "passed", staging.result

        merged = github.merge(OWNER, NAME, pr, author="maintainer")
        [production] = wait_for_runs(services, lambda r: r.kind == "production" and r.trigger ==
                                     "pull_request.merged" and r.head_sha == merged["sha"], 1, timeout=600)
        assert production.result is not None, production.error
        assert production.result["production"]["state"] == "promoted", production.result

    from ray.job_submission import JobSubmissionClient

    ids = {job.submission_id for job in JobSubmissionClient(ray_head.address).list_jobs()}
    assert {f"modelgate-run-{staging.id}-staging", f"modelgate-run-{production.id}-production"} <= ids
