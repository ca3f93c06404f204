"""The standby pipeline process (``pipelines.standby``) through ``LocalExecutor`` with real subprocesses: the
next matching job runs in the process warmed up for it, with its own environment, log and secrets (never in
the standby's own environment); a job of another kind starts the usual way; shutdown retires the standby."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.executor import JobState, LocalExecutor, PipelineJob
from pipelines.job_process import JobPolicy
from pipelines.standby import TOOK_OVER
from tests.fixtures.processes import wait_for_processes

pytestmark = pytest.mark.e2e


def _job(repo: Path, tracking_uri: str, job_id: str, env: dict[str, str] | None = None,
         secrets: dict[str, str] | None = None) -> PipelineJob:
    return PipelineJob(job_id=job_id, repo_dir=repo, kind="staging", tracking_uri=tracking_uri,
                       timeout_seconds=120, tags={"modelgate.pr": "1"}, env=env or {},
                       policy=JobPolicy(env=secrets or {}), use_cache=False)


def _standbys(workdir: Path) -> dict[int, bytes]:
    """Live standby processes of this executor: pid → the environment they were started with."""
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"pipelines.standby" in (proc / "cmdline").read_bytes() and \
                    str(workdir) in str((proc / "cwd").resolve()):
                found[int(proc.name)] = (proc / "environ").read_bytes()
        except OSError:
            continue
    return found


def _wait_for_standby(workdir: Path) -> dict[int, bytes]:
    return wait_for_processes(lambda: _standbys(workdir), "standby", 20)


def test_the_next_job_runs_in_the_standby_with_its_own_secrets(
    serial_executor: LocalExecutor, recording_repo: Path, tracking_uri: str
) -> None:
    executor, repo = serial_executor, recording_repo
    first = executor.submit(_job(repo, tracking_uri, "first"))
    assert executor.result(first, timeout=120).status == "passed"
    assert TOOK_OVER not in executor.logs(first)  # nothing was warm yet
    [(pid, environ)] = _wait_for_standby(executor.workdir).items()
    assert b"s3cret-token" not in environ

    second = executor.submit(_job(repo, tracking_uri, "second", secrets={"API_TOKEN": "s3cret-token"}))
    result = executor.result(second, timeout=120)

    assert result.status == "passed", result.error
    assert TOOK_OVER in executor.logs(second) and "step train: start" in executor.logs(second)
    assert (repo / ".modelgate" / "token").read_text() == "s3cret-token"  # the hand-over's secret reached it
    assert pid not in _standbys(executor.workdir)  # it served its one job
    assert len(_wait_for_standby(executor.workdir)) == 1  # and the next one is warming up


def test_a_job_with_another_environment_starts_fresh_and_shutdown_retires_the_standby(
    serial_executor: LocalExecutor, recording_repo: Path, tracking_uri: str
) -> None:
    executor, repo = serial_executor, recording_repo
    first = executor.submit(_job(repo, tracking_uri, "first"))
    executor.result(first, timeout=120)
    [old] = _wait_for_standby(executor.workdir)

    other = executor.submit(_job(repo, tracking_uri, "other", env={"AWS_REGION": "eu-west-1"}))
    assert executor.result(other, timeout=120).status == "passed"
    assert TOOK_OVER not in executor.logs(other) and old not in _standbys(executor.workdir)

    executor.shutdown(timeout=30)
    assert _standbys(executor.workdir) == {}


def test_a_job_in_a_standby_can_be_cancelled(
    serial_executor: LocalExecutor, recording_repo: Path, tracking_uri: str
) -> None:
    executor, repo = serial_executor, recording_repo
    executor.result(executor.submit(_job(repo, tracking_uri, "first")), timeout=120)
    _wait_for_standby(executor.workdir)
    (repo / "model.py").write_text("import time\n\n\ndef train(X_train, y_train):\n    time.sleep(60)\n")
    slow = executor.submit(_job(repo, tracking_uri, "slow"))
    deadline = time.monotonic() + 60
    while "step train: start" not in executor.logs(slow):
        assert time.monotonic() < deadline, executor.logs(slow)
        time.sleep(0.05)
    executor.cancel(slow)
    assert executor.result(slow, timeout=30).error_kind == "cancelled"
    assert executor.status(slow) == JobState.CANCELLED
