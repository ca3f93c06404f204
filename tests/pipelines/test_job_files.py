"""What the trusted side accepts from a job's output folder (pipelines.job.files), and the sandbox's
command line and secret-path check (pipelines.sandbox): table tests on real files."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pipelines.job import files
from pipelines.job.files import JobEvaluation, JobOutputError
from pipelines.sandbox import Isolation, Sandbox, exposed_secrets, runtime_paths

EVALUATION = ('{"model_name": "wine", "task": "classification", "candidate": {"accuracy": 0.9}, '
              '"champion": null, "higher_is_better": {"accuracy": true}}')


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def link_to_secret(folder: Path, name: str) -> None:
    secret = folder.parent / "secret.key"
    secret.write_text("-----BEGIN PRIVATE KEY-----")
    (folder / name).symlink_to(secret)


@pytest.mark.parametrize(("make", "problem"), [
    (lambda d: write(d, files.EVALUATION_FILE, "{not json"), "malformed"),
    (lambda d: write(d, files.EVALUATION_FILE, EVALUATION.replace('"classification"', '"ranking"')), "task"),
    (lambda d: write(d, files.EVALUATION_FILE, EVALUATION[:-1] + ', "extra": 1}'), "extra"),
    (lambda d: write(d, files.EVALUATION_FILE, EVALUATION.replace("0.9", '"high"')), "candidate"),
    (lambda d: link_to_secret(d, files.EVALUATION_FILE), "not a regular file"),
], ids=["not-json", "unknown-task", "unknown-field", "not-a-number", "symlink"])
def test_a_bad_evaluation_is_refused_with_where(
    tmp_path: Path, make: Callable[[Path], None], problem: str
) -> None:
    make(tmp_path)
    with pytest.raises(JobOutputError, match=problem):
        files.read_json(tmp_path, files.EVALUATION_FILE, JobEvaluation)


def test_a_good_evaluation_and_a_missing_one(tmp_path: Path) -> None:
    assert files.read_json(tmp_path, files.EVALUATION_FILE, JobEvaluation) is None
    write(tmp_path, files.EVALUATION_FILE, EVALUATION)
    read = files.read_json(tmp_path, files.EVALUATION_FILE, JobEvaluation)
    assert read is not None and read.candidate == {"accuracy": 0.9} and read.champion is None


def save(folder: Path, **arrays: object) -> None:
    with (folder / files.ARRAYS_FILE).open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


@pytest.mark.parametrize(("arrays", "problem"), [
    ({"y_true": np.array([1, 2], dtype=object), "candidate_pred": np.array([1, 2])}, "cannot be read"),
    ({"y_true": np.array([1, 2, 3]), "candidate_pred": np.array([1, 2])}, "has 2 rows"),
    ({"y_true": np.array([1, 2])}, "lacks"),
], ids=["pickled-objects", "row-mismatch", "no-predictions"])
def test_bad_arrays_are_refused(tmp_path: Path, arrays: dict[str, object], problem: str) -> None:
    save(tmp_path, **arrays)
    with pytest.raises(JobOutputError, match=problem):
        files.read_arrays(tmp_path)


def test_arrays_are_read_without_pickle_and_unknown_names_dropped(tmp_path: Path) -> None:
    save(tmp_path, y_true=np.array(["a", "b"]), candidate_pred=np.array(["a", "a"]), payload=np.zeros(3))
    assert set(files.read_arrays(tmp_path)) == {"y_true", "candidate_pred"}


@pytest.mark.parametrize(("layout", "problem"), [
    ({}, "no model folder"),
    ({"model.pkl": b"x", "extra.sh": b"x"}, "only model.pkl"),
    ({"model.pkl": None}, "not a regular file"),
], ids=["missing", "extra-file", "symlink"])
def test_the_model_folder_holds_one_regular_pickle(
    tmp_path: Path, layout: dict[str, bytes | None], problem: str
) -> None:
    if layout:
        folder = tmp_path / files.MODEL_DIR
        folder.mkdir()
        for name, content in layout.items():
            if content is None:
                link_to_secret(folder, name)
            else:
                (folder / name).write_bytes(content)
    with pytest.raises(JobOutputError, match=problem):
        files.model_files(tmp_path)


def test_secret_paths_inside_the_runtime_are_found() -> None:
    inside = Path(sys.prefix) / "lib" / "app.key"
    assert exposed_secrets([inside, Path("/srv/modelgate/app.key"), None]) == [inside.resolve()]
    assert all(path.is_absolute() for path in runtime_paths())


@pytest.mark.parametrize(("network", "shares"), [(False, False), (True, True)])
def test_the_sandbox_command_line(tmp_path: Path, network: bool, shares: bool) -> None:
    argv = Sandbox(Isolation.BWRAP, readable=[tmp_path / "ro"], writable=[tmp_path / "rw"],
                   network=network, tmp_bytes=1024).command(["python", "-c", "pass"])
    assert {"--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"} <= set(argv)
    assert argv[argv.index("--cap-drop") + 1] == "ALL" and argv[argv.index("--uid") + 1] == "65534"
    assert ("--share-net" in argv) is shares
    assert argv[argv.index("--size") + 1] == "1024" and argv[argv.index("--size") + 2] == "--tmpfs"
    # /tmp is a fresh tmpfs before anything is bound: a runtime or checkout below /tmp stays visible
    assert argv.index("--tmpfs") < argv.index("--ro-bind-try") < argv.index("--bind")
    assert argv[-4:] == ["--", "python", "-c", "pass"]
    assert Sandbox(Isolation.NONE).command(["python"]) == ["python"]


@pytest.mark.parametrize(("go_on", "version", "line"), [
    (False, None, "stop"), (False, 3, "stop"), (True, None, "go"), (True, 12, "go 12"),
])
def test_the_answer_to_a_fingerprint_round_trips(go_on: bool, version: int | None, line: str) -> None:
    assert files.answer_line(go_on, version) == line
    assert files.parse_answer(line + "\n") == (go_on, version if go_on else None)


@pytest.mark.parametrize("line", ["", "go on", "go 1 2", "GO", "go -1", "stop 3"])
def test_an_unexpected_answer_stops_the_job(line: str) -> None:
    assert files.parse_answer(line) == (False, None)
