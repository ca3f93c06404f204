"""RayJob against a real local Ray head: a staging job of the example end to end (with an extra
requirement installed by uv, a job secret masked, then with a champion), one submission per id under
concurrent starts, and kill → stop_job."""

from __future__ import annotations

import platform
import shutil
import threading
import time
from pathlib import Path

import pytest

from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy
from pipelines.ray_jobs import RayJob, RayTarget
from pipelines.ray_jobs.job import STOPPED_EXIT
from pipelines.runtimes import JobRuntime
from tests.fixtures.job_repos import HANG, example_with_prelude

pytestmark = [pytest.mark.ray, pytest.mark.e2e]

SECRET = "wine-cellar-key-7731"
EXTRA = "tomli-w==1.0.0"  # small, pure Python, not in modelgate's environment
PRELUDE = ('import os\nimport tomli_w\n'
           'print("extra", tomli_w.dumps({"a": 1}).strip(), os.environ["CELLAR_KEY"])\n')


def _status(address: str, submission_id: str) -> str:
    from ray.job_submission import JobSubmissionClient

    return str(JobSubmissionClient(address).get_job_status(submission_id).value)


def _wait_status(address: str, submission_id: str, wanted: str, seconds: float) -> float:
    started = time.monotonic()
    while _status(address, submission_id) != wanted:
        assert time.monotonic() - started < seconds, f"{submission_id} not {wanted} after {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - started


def _staging_job(
    repo: Path, work: Path, target: RayTarget, submission_id: str, requirements: list[str] | None = None
) -> RayJob:
    spec = JobSpec(repo, "staging", work / "out", work / "champion")
    (work / "champion").mkdir(parents=True, exist_ok=True)
    policy = JobPolicy(env={"CELLAR_KEY": SECRET})
    environment = None if requirements is None else JobRuntime(
        None, (), tuple(requirements), platform.python_version(), "extra packages", key="extra")
    return RayJob(spec, policy, target, submission_id, 240, environment)


@pytest.mark.timeout(300)  # the uv environment: a clone of the virtualenv, then the install
def test_a_staging_job_runs_on_ray_and_leaves_the_files_the_trusted_side_reads(
    ray_target: RayTarget, tmp_path: Path
) -> None:
    repo = example_with_prelude(tmp_path / "repo", PRELUDE)
    first = _staging_job(repo, tmp_path / "first", ray_target, "mg-e2e-first", requirements=[EXTRA])
    first.start()
    fingerprint = first.fingerprint()
    assert fingerprint is not None and fingerprint.data
    first.answer(go_on=True, champion_version=None)
    assert first.wait() == 0, list(first.tail)
    out = tmp_path / "first" / "out"
    evaluation = files.read_json(out, files.EVALUATION_FILE, files.JobEvaluation)
    assert evaluation is not None and evaluation.model_name == "wine-classifier"
    assert evaluation.candidate["accuracy"] > 0.85 and evaluation.champion is None
    assert len(files.read_arrays(out)["y_true"]) == 38 and files.model_files(out).is_dir()
    assert "extra a = 1 ***" in first.tail  # the extra package was installed; the secret is masked
    assert not any(SECRET in line for line in first.tail)

    # the same code with the first model as champion: its files reach the job through the storage
    second = _staging_job(repo, tmp_path / "second", ray_target, "mg-e2e-second", requirements=[EXTRA])
    second.start()
    assert second.fingerprint() == fingerprint  # same data
    shutil.copy(out / "model" / "model.pkl", tmp_path / "second" / "champion" / "model.pkl")
    second.answer(go_on=True, champion_version=1)
    assert second.wait() == 0, list(second.tail)
    again = files.read_json(tmp_path / "second" / "out", files.EVALUATION_FILE, files.JobEvaluation)
    assert again is not None and again.champion == evaluation.candidate


def test_concurrent_starts_with_one_submission_id_make_one_ray_job(
    ray_target: RayTarget, tmp_path: Path
) -> None:
    from ray.job_submission import JobSubmissionClient

    repo = example_with_prelude(tmp_path / "repo")
    jobs = [_staging_job(repo, tmp_path / f"side-{n}", ray_target, "mg-one-run") for n in range(3)]
    barrier = threading.Barrier(len(jobs))

    def start(job: RayJob) -> None:
        barrier.wait()
        job.start()

    threads = [threading.Thread(target=start, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(job.attached for job in jobs) == [False, True, True]
    listed = JobSubmissionClient(ray_target.address).list_jobs()
    submitted = [job for job in listed if job.submission_id == "mg-one-run"]
    assert len(submitted) == 1
    fingerprints = {job.fingerprint() for job in jobs}
    assert len(fingerprints) == 1
    jobs[0].answer(go_on=False)  # a cached result: the one job stops without training
    assert [job.wait() for job in jobs] == [0, 0, 0]
    assert not (tmp_path / "side-1" / "out" / files.EVALUATION_FILE).exists()


def test_kill_stops_the_ray_job(ray_target: RayTarget, tmp_path: Path) -> None:
    repo = example_with_prelude(tmp_path / "repo", HANG)
    job = _staging_job(repo, tmp_path / "work", ray_target, "mg-killed")
    job.start()
    _wait_status(ray_target.address, "mg-killed", "RUNNING", 60)
    job.kill()
    assert _wait_status(ray_target.address, "mg-killed", "STOPPED", 10) < 5
    job.kill()  # idempotent
    assert job.wait() == STOPPED_EXIT
