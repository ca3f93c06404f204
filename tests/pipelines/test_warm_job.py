"""The warm sandboxed job (``pipelines.warm_job``) through ``LocalExecutor``, with real bubblewrap and real
processes: the next run's job runs in the sandbox started ahead, gets its secrets only at the hand-over, and
serves that one run; the next run gets another process and sees nothing of the last; a run that asks for
another sandbox gets a fresh job; a cancelled run's warm job dies and its checkout comes back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.executor import LocalExecutor, PipelineJob
from pipelines.job_process import JobPolicy
from pipelines.warm_job import WARM_JOB_TAKES
from tests.fixtures.processes import parent, wait_for_processes

pytestmark = pytest.mark.e2e

SLOW_MODEL = "import time\n\n\ndef train(X_train, y_train):\n    time.sleep(60)\n"


def _job(repo: Path, tracking_uri: str, job_id: str, secrets: dict[str, str] | None = None,
         memory_mb: int | None = None) -> PipelineJob:
    return PipelineJob(job_id=job_id, repo_dir=repo, kind="staging", tracking_uri=tracking_uri,
                       timeout_seconds=120, tags={"modelgate.pr": "1"}, use_cache=False,
                       policy=JobPolicy(env=secrets or {}, memory_mb=memory_mb))


def _descends_from(pid: int, ancestors: set[int]) -> bool:
    while pid > 1:
        pid = parent(pid)
        if pid in ancestors:
            return True
    return False


def _warm_jobs(workdir: Path) -> dict[int, bytes]:
    """The Python processes of this executor's warm jobs (inside their sandboxes): pid → environment."""
    sandboxes, found = set(), {}
    commands = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            command = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"pipelines.job\x00--warm" in command:
            commands[int(proc.name)] = command
    for pid, command in commands.items():  # bubblewrap's command line names the slot's folders
        if b"bwrap" in command.split(b"\x00")[0] and str(workdir).encode() in command:
            sandboxes.add(pid)
    for pid, command in commands.items():
        try:
            if pid not in sandboxes and b"bwrap" not in command and _descends_from(pid, sandboxes):
                found[pid] = Path(f"/proc/{pid}/environ").read_bytes()
        except (OSError, IndexError):
            continue
    return found


def _wait_for_warm_job(workdir: Path, not_in: tuple[int, ...] = ()) -> dict[int, bytes]:
    return wait_for_processes(
        lambda: {pid: env for pid, env in _warm_jobs(workdir).items() if pid not in not_in}, "warm job")


def test_the_next_run_takes_the_warm_job_gets_its_secrets_then_and_the_run_after_sees_nothing_of_it(
    serial_executor: LocalExecutor, recording_repo: Path, tracking_uri: str
) -> None:
    executor, repo = serial_executor, recording_repo
    first = executor.submit(_job(repo, tracking_uri, "first"))
    expected = executor.result(first, timeout=120)
    assert expected.status == "passed", expected.error
    assert WARM_JOB_TAKES not in executor.logs(first)  # nothing was warm yet
    [(warm, environ)] = _wait_for_warm_job(executor.workdir).items()
    assert b"MODELGATE_JOB=1" in environ and b"API_TOKEN" not in environ  # secrets come with the hand-over

    second = executor.submit(_job(repo, tracking_uri, "second", secrets={"API_TOKEN": "s3cret-token"}))
    result = executor.result(second, timeout=120)

    assert result.status == "passed", result.error
    assert result.candidate_metrics == expected.candidate_metrics
    assert WARM_JOB_TAKES in executor.logs(second) and "step train: start" in executor.logs(second)
    assert (repo / ".modelgate" / "token").read_text() == "s3cret-token"  # reached the job at the hand-over
    assert "s3cret-token" not in executor.logs(second)
    assert warm not in _warm_jobs(executor.workdir)  # it served its one run
    second_cwd = (repo / ".modelgate" / "cwd").read_text()
    assert second_cwd != str(repo) and (repo / "data_original.py").is_file()  # the checkout came back

    [(next_warm, _)] = _wait_for_warm_job(executor.workdir, (warm,)).items()
    third = executor.submit(_job(repo, tracking_uri, "third"))
    assert executor.result(third, timeout=120).status == "passed"

    assert WARM_JOB_TAKES in executor.logs(third) and next_warm != warm
    assert "left-" not in (repo / ".modelgate" / "tmp").read_text()  # not the last run's /tmp
    assert (repo / ".modelgate" / "token").read_text() == "none"
    assert (repo / ".modelgate" / "cwd").read_text() != second_cwd  # nor its folders
    assert not Path(second_cwd).exists()  # which are gone


@pytest.fixture
def warm(serial_executor: LocalExecutor, recording_repo: Path, tracking_uri: str) -> int:
    """The warm job started after a first run (the pid of its Python)."""
    serial_executor.result(serial_executor.submit(_job(recording_repo, tracking_uri, "first")), timeout=120)
    [pid] = _wait_for_warm_job(serial_executor.workdir)
    return pid


def test_a_run_that_asks_for_another_sandbox_gets_a_fresh_job(
    serial_executor: LocalExecutor, recording_repo: Path, tracking_uri: str, warm: int
) -> None:
    executor, repo = serial_executor, recording_repo

    other = executor.submit(_job(repo, tracking_uri, "limited", memory_mb=4096))
    result = executor.result(other, timeout=120)

    assert result.status == "passed", result.error
    assert "step train: start" in executor.logs(other) and WARM_JOB_TAKES not in executor.logs(other)
    assert warm not in _warm_jobs(executor.workdir)


def test_a_cancelled_runs_warm_job_dies_and_its_checkout_comes_back(
    serial_executor: LocalExecutor, recording_repo: Path, tracking_uri: str, warm: int
) -> None:
    executor, repo = serial_executor, recording_repo
    (repo / "model.py").write_text(SLOW_MODEL)
    slow = executor.submit(_job(repo, tracking_uri, "slow"))
    deadline = time.monotonic() + 60
    while "step train: start" not in executor.logs(slow):
        assert time.monotonic() < deadline, executor.logs(slow)
        time.sleep(0.05)
    assert WARM_JOB_TAKES in executor.logs(slow) and not (repo / "model.py").exists()  # in the warm slot

    executor.cancel(slow)

    assert executor.result(slow, timeout=30).error_kind == "cancelled"
    assert warm not in _warm_jobs(executor.workdir)
    assert not Path(f"/proc/{warm}").exists()
    assert (repo / "model.py").read_text() == SLOW_MODEL
