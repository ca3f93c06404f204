"""Cancel or supersede SIGTERMs the trusted pipeline process; ``pipelines.termination`` turns that into an
exception, so the ``finally: job.kill()`` around a Ray job runs and the cluster stops the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.ray_jobs import RayTarget
from tests.fixtures.job_repos import HANG, example_with_prelude

pytestmark = [pytest.mark.ray, pytest.mark.e2e]

# the trusted process's shape: SIGTERM handling as `python -m pipelines.entry` sets it up, and the
# job killed in a finally, as pipelines/steps.py does
TRUSTED_PROCESS = '''
import sys
from pathlib import Path
from pipelines.termination import Terminated, raise_on_sigterm
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy
from pipelines.ray_jobs import RayJob, RayTarget

raise_on_sigterm()
repo, work, storage = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[4])
job = RayJob(JobSpec(repo, "staging", work / "out"), JobPolicy(), RayTarget(sys.argv[3], storage),
             "mg-sigterm", 120)
try:
    job.start()
    job.wait()
except Terminated:
    print("terminated", flush=True)
finally:
    job.kill()
'''


def test_sigterm_of_the_trusted_process_stops_the_ray_job(ray_target: RayTarget, tmp_path: Path) -> None:
    from ray.job_submission import JobSubmissionClient

    repo = example_with_prelude(tmp_path / "repo", HANG)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-c", TRUSTED_PROCESS, str(repo), str(tmp_path / "work"), ray_target.address,
         str(ray_target.storage)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    client = JobSubmissionClient(ray_target.address)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline and process.poll() is None
            try:
                if str(client.get_job_status("mg-sigterm").value) == "RUNNING":
                    break
            except RuntimeError:  # not submitted yet
                pass
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert b"terminated" in out
    deadline = time.monotonic() + 10
    while str(client.get_job_status("mg-sigterm").value) != "STOPPED":
        assert time.monotonic() < deadline, "the Ray job was not stopped"
        time.sleep(0.2)
