"""The Ray jobs' shared storage as an fsspec URL, against a real S3 endpoint (moto's server): the trusted
side's answer and champion files go up, and what comes back is data within the readers' limits, never
a key that would land outside the run's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.checkout import StepError
from pipelines.job import files
from pipelines.ray_jobs import storage
from pipelines.ray_jobs.storage import SubmissionStorage
from tests.fixtures.s3_standin import S3Standin


def test_the_answer_and_the_champion_go_up_and_clear_removes_them(s3: S3Standin, tmp_path: Path) -> None:
    place = SubmissionStorage.under(s3.url(), "run-7-1")
    assert not place.is_local
    place.clear()
    champion = tmp_path / "champion"
    (champion / "model").mkdir(parents=True)
    (champion / "model" / "model.pkl").write_bytes(b"champion")
    place.put_champion(champion)
    place.put_answer(files.answer_line(True, 3))
    assert place.fs.cat_file(f"{place.champion}/model/model.pkl") == b"champion"
    assert files.parse_answer(place.fs.cat_file(place.answer).decode()) == (True, 3)
    assert sorted(Path(p).name for p in place.fs.ls(place.root)) == ["answer", "champion"]  # no temp object
    place.clear()
    assert not place.fs.exists(place.answer) and not place.fs.exists(f"{place.champion}/model/model.pkl")


def test_outputs_come_back_as_data_and_only_inside_the_run(s3: S3Standin, tmp_path: Path) -> None:
    place = SubmissionStorage.under(s3.url(), "run-7-2")
    place.clear()
    local = tmp_path / "local-out"
    assert not place.fetch_file(files.FINGERPRINT_FILE, local)
    place.fs.pipe_file(f"{place.out}/{files.FINGERPRINT_FILE}", b'{"data": "abc"}')
    assert place.fetch_file(files.FINGERPRINT_FILE, local)
    fingerprint = files.read_json(local, files.FINGERPRINT_FILE, files.JobFingerprint)
    assert fingerprint == files.JobFingerprint(data="abc")
    place.fs.pipe_file(f"{place.out}/model/model.pkl", b"pickle")
    place.fs.pipe_file(f"{place.root}/elsewhere/secret", b"another run's file")
    place.fs.pipe_file(f"{place.out}/model/../../../escaped", b"a key that climbs out of the folder")
    assert len(place.fs.find(place.out)) == 3  # S3 keeps ".." in a key as it is
    place.fetch_outputs(local)
    assert (local / "model" / "model.pkl").read_bytes() == b"pickle"
    assert sorted(p.relative_to(local).as_posix() for p in local.rglob("*")) == [
        files.FINGERPRINT_FILE, "model", "model/model.pkl"]


def test_too_many_or_too_large_outputs_fail_the_run(
    s3: S3Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = SubmissionStorage.under(s3.url(), "run-7-3")
    place.clear()
    place.fs.pipe_file(f"{place.out}/big", b"x" * 2048)
    monkeypatch.setattr(storage, "MAX_COPIED_BYTES", 1024)
    with pytest.raises(StepError, match="more than 1024 bytes"):
        place.fetch_outputs(tmp_path / "copy")
    monkeypatch.setattr(storage, "MAX_COPIED_BYTES", 4096)
    monkeypatch.setattr(storage, "MAX_COPIED_ENTRIES", 3)
    for n in range(3):
        place.fs.pipe_file(f"{place.out}/f{n}", b"")
    with pytest.raises(StepError, match="more than 3 files"):
        place.fetch_outputs(tmp_path / "copy2")
