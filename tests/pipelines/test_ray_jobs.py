"""The parts of the Ray executor that need no cluster: what a job is given, how Jobs API errors read,
how its outputs come back (as data: links stay links, pipes are left out), and its log's masking."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from pipelines.checkout import StepError
from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy
from pipelines.masking import Masker
from pipelines.ray_jobs import runtime, storage
from pipelines.ray_jobs.client import Failure, classify
from pipelines.ray_jobs.logs import LogPump
from pipelines.ray_jobs.relay import RelaySpec
from pipelines.ray_jobs.storage import SubmissionStorage
from pipelines.runtimes import JobRuntime


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (RuntimeError("Request failed with status code 400: Traceback …\nValueError: Job with submission_id "
                      "run-1-1 already exists. Please use a different submission_id.\n."), Failure.EXISTS),
        (RuntimeError("Request failed with status code 404: Job run-1-1 does not exist."), Failure.MISSING),
        (ConnectionError("Failed to connect to Ray at address: http://127.0.0.1:8265."), Failure.UNREACHABLE),
        (requests.exceptions.ConnectionError("Connection refused"), Failure.UNREACHABLE),
        (RuntimeError("Request failed with status code 503: Service Unavailable"), Failure.UNREACHABLE),
    ],
)
def test_classify(error: Exception, failure: Failure) -> None:
    assert classify(error) == failure


def test_the_job_on_ray_gets_its_relay_and_nothing_of_this_host(tmp_path: Path) -> None:
    place = SubmissionStorage.under(tmp_path / "storage", "run-7-1")
    spec = JobSpec(tmp_path / "checkout", "staging", tmp_path / "out", tmp_path / "champion")
    relay = runtime.relay_spec(spec, place)
    assert relay == RelaySpec(str(tmp_path / "storage" / "run-7-1"), replace(spec, repo_dir=Path(".")))
    assert RelaySpec.from_json(runtime.entrypoint(relay).split(" ", 4)[4].strip("'")) == relay
    environment = JobRuntime(tmp_path / "env" / "bin" / "python", (tmp_path / "env", Path("/usr")),
                             ("lightgbm==4.7.0",), "3.11.2", "requirements.txt", key="k")
    prebuilt = runtime.relay_spec(spec, place, environment)
    assert prebuilt.python == str(environment.python) and prebuilt.read_only == (str(tmp_path / "env"),)

    env = runtime.runtime_env(spec.repo_dir, JobPolicy(env={"WAREHOUSE_TOKEN": "t0k3n"}), ["tomli-w==1.0.0"])
    assert env["working_dir"] == str(spec.repo_dir) and env["uv"] == {"packages": ["tomli-w==1.0.0"]}
    assert [Path(module).name for module in env["py_modules"]] == ["pipelines"]
    variables = env["env_vars"]
    assert variables["WAREHOUSE_TOKEN"] == "t0k3n" and variables["MODELGATE_JOB"] == "1"
    assert not set(variables) & {"PATH", "HOME", "TMPDIR", "PYTHONPATH"}
    assert not any(str(tmp_path) in value for value in variables.values())
    assert "uv" not in runtime.runtime_env(spec.repo_dir, JobPolicy(), None)  # the cluster's Python


def test_outputs_come_back_as_data(tmp_path: Path) -> None:
    place = SubmissionStorage.under(tmp_path / "storage", "run-7-1")
    place.clear()
    out = Path(place.out)
    files.write_json(out, files.FINGERPRINT_FILE, files.JobFingerprint(data="abc"))
    (out / "model").mkdir()
    (out / "model" / "model.pkl").write_bytes(b"pickle")
    (tmp_path / "secret").write_text("the App's key")
    (out / files.EVALUATION_FILE).symlink_to(tmp_path / "secret")
    (out / "linked-dir").symlink_to(tmp_path)
    os.mkfifo(out / files.SAMPLE_FILE)
    local = tmp_path / "local-out"
    place.fetch_outputs(local)
    fingerprint = files.read_json(local, files.FINGERPRINT_FILE, files.JobFingerprint)
    assert fingerprint == files.JobFingerprint(data="abc")
    assert (local / "model" / "model.pkl").read_bytes() == b"pickle"
    assert (local / files.EVALUATION_FILE).is_symlink() and (local / "linked-dir").is_symlink()
    with pytest.raises(files.JobOutputError, match="not a regular file"):
        files.read_json(local, files.EVALUATION_FILE, files.JobEvaluation)
    assert not (local / files.SAMPLE_FILE).exists()  # the pipe is left out (and never opened)


def test_too_many_or_too_large_outputs_fail_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "out"
    source.mkdir()
    (source / "big").write_bytes(b"x" * 2048)
    monkeypatch.setattr(storage, "MAX_COPIED_BYTES", 1024)
    with pytest.raises(StepError, match="more than 1024 bytes"):
        storage.copy_untrusted(source, tmp_path / "copy")
    monkeypatch.setattr(storage, "MAX_COPIED_ENTRIES", 3)
    for n in range(4):
        (source / f"f{n}").write_text("")
    with pytest.raises(StepError, match="more than 3 files"):
        storage.copy_untrusted(source, tmp_path / "copy2")


def test_answer_and_champion_files(tmp_path: Path) -> None:
    place = SubmissionStorage.under(tmp_path / "storage", "run-7-1")
    place.clear()
    champion = tmp_path / "champion"
    champion.mkdir()
    (champion / "model.pkl").write_bytes(b"champion")
    place.put_champion(champion)
    place.put_answer(files.answer_line(True, 3))
    assert (Path(place.champion) / "model.pkl").read_bytes() == b"champion"
    assert files.parse_answer(Path(place.answer).read_text()) == (True, 3)
    assert sorted(p.name for p in Path(place.root).iterdir()) == ["answer", "champion", "out"]  # no temp file
    place.clear()
    assert not Path(place.answer).exists() and not Path(place.champion).exists()


def test_the_log_pump_emits_whole_lines_masked(tmp_path: Path) -> None:
    log = ["setting up\nthe key is s3cr3t-key", "setting up\nthe key is s3cr3t-key\ndone\nhalf"]
    tail: deque[str] = deque(maxlen=10)
    pump = LogPump(lambda: log[0], Masker(["s3cr3t-key"]), tail)
    pump.drain()
    assert list(tail) == ["setting up"]  # the second line is not complete yet
    log.pop(0)
    pump.drain()
    pump.drain(final=True)
    assert list(tail) == ["setting up", "the key is ***", "done", "half"]
