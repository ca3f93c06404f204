"""The relay, a Ray job's entrypoint on the node, run here as Ray would run it (in the checkout, as its
own process) against a real S3 endpoint: it carries the fingerprint up, the answer down and the
outputs up, and refuses a prebuilt environment a job could write into."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.ray_jobs.relay import RelaySpec, relay
from pipelines.ray_jobs.storage import SubmissionStorage
from pipelines.sandbox import package_root
from tests.fixtures.job_repos import example_with_prelude
from tests.fixtures.s3_standin import S3Standin


def test_a_prebuilt_environment_a_job_could_write_into_is_refused(s3: S3Standin, tmp_path: Path) -> None:
    place = SubmissionStorage.under(s3.url(), "run-1-staging")
    place.clear()
    job = JobSpec(Path("."), "staging", tmp_path / "ignored")
    code = relay(RelaySpec(place.url, job, sys.executable, (str(tmp_path),)))
    assert code == 1
    place.fetch_outputs(tmp_path / "out")
    error = files.read_json(tmp_path / "out", files.ERROR_FILE, files.JobError)
    assert error is not None and error.error_kind == "crash"
    assert f"the prebuilt environment {tmp_path} is writable on this node" in error.error


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_relay_carries_a_job_through_s3(s3: S3Standin, tmp_path: Path) -> None:
    repo = example_with_prelude(tmp_path / "repo", 'print("hello from the node")')
    place = SubmissionStorage.under(s3.url(), "run-2-staging")
    place.clear()
    spec = RelaySpec(place.url, JobSpec(Path("."), "staging", Path("unused"), Path("unused-champion")))
    env = {**os.environ, "PYTHONPATH": str(package_root())}
    process = subprocess.Popen([sys.executable, "-P", "-m", "pipelines.ray_jobs.relay", spec.to_json()],
                               cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    local = tmp_path / "out"
    while not place.fetch_file(files.FINGERPRINT_FILE, local):
        assert process.poll() is None, process.communicate()[0]
    fingerprint = files.read_json(local, files.FINGERPRINT_FILE, files.JobFingerprint)
    assert fingerprint is not None and fingerprint.data
    place.put_answer(files.answer_line(True, None))
    output, _ = process.communicate(timeout=100)
    assert process.returncode == 0, output
    assert "hello from the node" in output
    place.fetch_outputs(local)
    evaluation = files.read_json(local, files.EVALUATION_FILE, files.JobEvaluation)
    assert evaluation is not None and evaluation.candidate["accuracy"] > 0.85 and evaluation.champion is None
    assert files.model_files(local).is_dir() and len(files.read_arrays(local)["y_true"]) == 38
