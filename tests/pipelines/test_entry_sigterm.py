"""A cancel (SIGTERM to the pipeline process) stops the job on the way out: the pipeline's
``finally: job.kill()`` runs. The job runs in a session of its own, so nothing else would end it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from pipelines.executor import JobState, LocalExecutor, PipelineJob
from pipelines.job_process import JobPolicy
from pipelines.sandbox import Isolation
from tests.fixtures.job_repos import HANG, example_with_prelude

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_cancelled_pipeline_kills_its_job(tmp_path: Path) -> None:
    pid_file = tmp_path / "job.pid"
    prelude = f"import os, pathlib\npathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n" + HANG
    repo = example_with_prelude(tmp_path / "repo", prelude)
    executor = LocalExecutor(tmp_path / "jobs", kill_grace_seconds=10)
    policy = JobPolicy(isolation=Isolation.NONE)  # no --die-with-parent: only kill() ends the job
    job_id = executor.submit(PipelineJob("sigterm-1", repo, "staging", f"sqlite:///{tmp_path / 'mlflow.db'}",
                                         120, {}, policy=policy))
    deadline = time.monotonic() + 60
    while not pid_file.exists():
        assert time.monotonic() < deadline and executor.status(job_id) == JobState.RUNNING
        time.sleep(0.1)
    job_pid = int(pid_file.read_text())
    try:
        assert _alive(job_pid)
        executor.cancel(job_id)
        assert executor.result(job_id, timeout=30).error_kind == "cancelled"
        assert not _alive(job_pid)
        assert "stopped by SIGTERM" in (tmp_path / "jobs" / job_id / "pipeline.log").read_text()
    finally:
        if _alive(job_pid):
            os.kill(job_pid, signal.SIGKILL)
