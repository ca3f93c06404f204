"""LocalExecutor with real subprocesses: results, timeouts, cancels, crashes, environment, the pool bound."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.executor import JobState, LocalExecutor, PipelineJob
from tests.fixtures.example_repo import EXAMPLE, write_model

pytestmark = pytest.mark.e2e

# Spawns a grandchild (a sleep of a length no other process has), notes that it started in the
# checkout's .modelgate/ (the job's own scratch copy: one of the two places it may write), then blocks.
SPAWNING_SLEEPER = '''import subprocess
from pathlib import Path


def {function}(*args):
    child = subprocess.Popen(["sleep", "{seconds}"])
    (Path(__file__).parent / ".modelgate").mkdir(exist_ok=True)
    (Path(__file__).parent / ".modelgate" / "child.started").write_text("yes")
    child.wait()
'''
HARD_EXIT_MODEL = '''import os


def train(X_train, y_train):
    print("about to die", flush=True)
    os._exit(7)
'''
# /proc/self/environ is the environment the process was started with (before imports add to it).
ENV_RECORDING_DATA = '''from pathlib import Path

from data_original import load_staging as _load_staging


def load_staging():
    (Path(__file__).parent / ".modelgate").mkdir(exist_ok=True)
    (Path(__file__).parent / ".modelgate" / "environ").write_bytes(Path("/proc/self/environ").read_bytes())
    return _load_staging()
'''


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    pool = LocalExecutor(workdir=tmp_path / "jobs", max_concurrency=2, kill_grace_seconds=2)
    yield pool
    pool.shutdown(timeout=30)


def job(
    repo: Path, tracking_uri: str, job_id: str, timeout: float = 60, env: dict[str, str] | None = None,
    output_dir: Path | None = None,
) -> PipelineJob:
    return PipelineJob(job_id=job_id, repo_dir=repo, kind="staging", tracking_uri=tracking_uri,
                       timeout_seconds=timeout, tags={"modelgate.pr": "1"}, env=env or {},
                       output_dir=output_dir)


def wait_for(path: Path, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text()


def sleepers(seconds: str) -> list[int]:
    """Pids of live ``sleep <seconds>`` processes, from the host's /proc (a job sees its own pids only)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() == f"sleep\0{seconds}\0".encode():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def assert_gone(seconds: str) -> None:
    deadline = time.monotonic() + 5
    while sleepers(seconds):
        assert time.monotonic() < deadline, f"sleep {seconds} survived its job"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str) -> tuple[LocalExecutor, str, Path]:
    """One real staging run through a subprocess, with the parent holding a secret in its environment."""
    root = tmp_path_factory.mktemp("success")
    repo = root / "repo"
    shutil.copytree(EXAMPLE, repo)
    (repo / "data.py").rename(repo / "data_original.py")
    (repo / "data.py").write_text(ENV_RECORDING_DATA)
    pool = LocalExecutor(workdir=root / "jobs", max_concurrency=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELGATE_WEBHOOK_SECRET", "do-not-leak")
        spec = job(repo, tracking_uri, "ok-1", env={"EXTRA_SETTING": "1"}, output_dir=root / "report")
        job_id = pool.submit(spec)
    pool.result(job_id, timeout=60)
    return pool, job_id, root / "jobs" / job_id


def test_a_run_returns_its_result(finished: tuple[LocalExecutor, str, Path]) -> None:
    pool, job_id, _ = finished
    result = pool.result(job_id)
    assert pool.status(job_id) == JobState.SUCCEEDED
    assert result.status == "passed", result.error
    assert result.mlflow_run_id and result.candidate_metrics["accuracy"] >= 0.85


def test_the_child_writes_the_report(finished: tuple[LocalExecutor, str, Path]) -> None:
    pool, job_id, directory = finished
    report = directory.parent.parent / "report"
    files = pool.result(job_id).report_files
    assert {"report.md", "report.json", "confusion.png"} <= set(files)
    assert sorted(path.name for path in report.iterdir()) == sorted(files)
    assert json.loads(report.joinpath("report.json").read_text())["pr"] == 1


def test_the_repositorys_code_sees_an_environment_built_from_nothing(
    finished: tuple[LocalExecutor, str, Path],
) -> None:
    _, _, directory = finished
    repo = directory.parent.parent / "repo"
    environ = (repo / ".modelgate" / "environ").read_bytes().decode()
    seen = dict(entry.partition("=")[::2] for entry in environ.split("\0") if entry)
    assert "do-not-leak" not in environ and "sqlite" not in environ  # no App setting, no tracking URI
    assert set(seen) == {
        "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
        "MPLBACKEND", "MODELGATE_JOB", "PWD",
    }
    assert (seen["HOME"], seen["TMPDIR"]) == ("/tmp/home", "/tmp")  # the sandbox's own tmpfs


def test_logs_return_the_captured_output(finished: tuple[LocalExecutor, str, Path]) -> None:
    pool, job_id, _ = finished
    logs = pool.logs(job_id)
    assert "step train: start" in logs and "gates passed" in logs
    assert "do-not-leak" not in logs and "sqlite" not in logs


def test_a_timeout_kills_the_whole_process_group(
    executor: LocalExecutor, example_repo: Path, tracking_uri: str
) -> None:
    (example_repo / "data.py").write_text(SPAWNING_SLEEPER.format(function="load_staging", seconds="61.5"))
    job_id = executor.submit(job(example_repo, tracking_uri, "slow-1", timeout=20))
    wait_for(example_repo / ".modelgate" / "child.started", seconds=30)
    assert sleepers("61.5")
    result = executor.result(job_id, timeout=30)
    assert executor.status(job_id) == JobState.TIMED_OUT
    assert (result.status, result.error_kind, result.error) == ("error", "timeout", "timed out after 20 s")
    assert_gone("61.5")


def test_cancel_kills_a_training_job(executor: LocalExecutor, example_repo: Path, tracking_uri: str) -> None:
    write_model(example_repo, SPAWNING_SLEEPER.format(function="train", seconds="62.5"))
    job_id = executor.submit(job(example_repo, tracking_uri, "cancel-1"))
    wait_for(example_repo / ".modelgate" / "child.started", seconds=60)
    assert sleepers("62.5")
    assert executor.status(job_id) == JobState.RUNNING
    executor.cancel(job_id)
    result = executor.result(job_id, timeout=30)
    assert executor.status(job_id) == JobState.CANCELLED
    assert (result.status, result.error_kind) == ("error", "cancelled")
    assert "step train: start" in "\n".join(result.log_tail)
    assert_gone("62.5")


def test_a_hard_exit_is_a_crash_with_the_log(
    executor: LocalExecutor, example_repo: Path, tracking_uri: str
) -> None:
    write_model(example_repo, HARD_EXIT_MODEL)
    job_id = executor.submit(job(example_repo, tracking_uri, "crash-1"))
    result = executor.result(job_id, timeout=60)
    assert executor.status(job_id) == JobState.SUCCEEDED  # the trusted process wrote the error result
    assert (result.status, result.error_kind) == ("error", "crash")
    assert result.error == "the job exited with code 7 without a result"
    assert "about to die" in result.log_tail


def test_the_pool_bound_queues_extra_jobs(tmp_path: Path, example_repo: Path, tracking_uri: str) -> None:
    pool = LocalExecutor(workdir=tmp_path / "jobs", max_concurrency=1)
    try:
        ids = [pool.submit(job(example_repo, tracking_uri, f"bound-{n}")) for n in range(3)]
        assert [pool.status(i) for i in ids] == [JobState.RUNNING, JobState.QUEUED, JobState.QUEUED]
        assert pool.logs(ids[1]) == ""
        pool.cancel(ids[2])
        assert pool.result(ids[2], timeout=1).error_kind == "cancelled"
        pool.cancel(ids[0])
        pool.result(ids[0], timeout=30)
        assert pool.status(ids[1]) == JobState.RUNNING
        with pytest.raises(TimeoutError):
            pool.result(ids[1], timeout=0.01)
    finally:
        pool.shutdown(timeout=30)
    assert [pool.status(i) for i in ids] == [JobState.CANCELLED] * 3


def test_unknown_and_duplicate_jobs_are_refused(executor: LocalExecutor, example_repo: Path) -> None:
    with pytest.raises(KeyError):
        executor.status("nope")
    with pytest.raises(ValueError, match="job_id"):
        executor.submit(job(example_repo, "sqlite:///x.db", "../escape"))
