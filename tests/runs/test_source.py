"""Unpacking a commit's tarball: caps on entries and bytes (tarball bombs), members modelgate
refuses or skips whatever tarfile's own filter would do, and the Python versions whose filter
has known bypasses. Real tar.gz archives, built here or served by the GitHub stand-in."""

from __future__ import annotations

import gzip
import io
import logging
import tarfile
import time
from pathlib import Path

import pytest

from bot.github import GitHubApp, Repo
from bot.runs.source import (
    SourceError,
    SourceLimits,
    fetch_source,
    tarfile_filter_fix,
    unpack_tarball,
    warn_if_tarfile_filter_is_weak,
)
from tests.fixtures.standin import SandboxHandle

TOP = "acme-wine-c0ffee0"
SMALL = SourceLimits(max_bytes=1024 * 1024, max_entries=20)


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **attrs: object) -> tuple[
        tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(data) if kind == tarfile.REGTYPE else 0
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def tarball(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    """A gzipped tar of ``members``, like GitHub's (one top-level folder, added first)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(member(TOP, tarfile.DIRTYPE)[0])
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_a_normal_tarball_unpacks_to_the_repository_root(tmp_path: Path) -> None:
    data = tarball(member(f"{TOP}/model.py", data=b"C = 1\n"), member(f"{TOP}/data", tarfile.DIRTYPE),
                   member(f"{TOP}/data/run.sh", data=b"#!/bin/sh\n", mode=0o4777))
    dest = unpack_tarball(data, tmp_path / "src", SMALL)
    assert files_under(dest) == ["data", "data/run.sh", "model.py"]
    assert (dest / "model.py").read_bytes() == b"C = 1\n"
    assert (dest / "data" / "run.sh").stat().st_mode & 0o7777 == 0o755  # no setuid, no world write
    assert not (tmp_path / "src.unpack").exists()


def test_too_many_entries_fail_with_the_setting_named_and_leave_nothing(tmp_path: Path) -> None:
    data = tarball(*(member(f"{TOP}/f{i:04d}.py", data=b"x = 1\n") for i in range(500)))
    with pytest.raises(SourceError, match=r"more than 20 entries \(MODELGATE_SOURCE_MAX_ENTRIES\)"):
        unpack_tarball(data, tmp_path / "src", SMALL)
    assert files_under(tmp_path) == ["src"] and files_under(tmp_path / "src") == []


def test_too_many_bytes_fail_before_the_member_past_the_cap_is_written(tmp_path: Path) -> None:
    zeros = bytes(3 * 1024 * 1024)  # compresses to a few kB
    data = tarball(member(f"{TOP}/ok.bin", data=bytes(512 * 1024)), member(f"{TOP}/zeros.bin", data=zeros))
    assert len(data) < 20_000
    with pytest.raises(SourceError, match=r"more than 1 MB \(MODELGATE_SOURCE_MAX_BYTES\)"):
        unpack_tarball(data, tmp_path / "src", SMALL)
    assert files_under(tmp_path) == ["src"] and files_under(tmp_path / "src") == []


def test_a_member_claiming_a_terabyte_is_refused_from_its_header_alone(tmp_path: Path) -> None:
    """The header says 1 TB and no data follows: reading on would end in a truncated-archive
    error, so the cap's message shows that neither its data was read nor anything written."""
    info = tarfile.TarInfo(f"{TOP}/huge.bin")
    info.size = 1 << 40
    raw = tarfile.TarInfo(TOP + "/").tobuf(tarfile.PAX_FORMAT) + info.tobuf(tarfile.PAX_FORMAT)
    started = time.monotonic()
    with pytest.raises(SourceError, match="MODELGATE_SOURCE_MAX_BYTES"):
        unpack_tarball(gzip.compress(raw + bytes(1024)), tmp_path / "src", SourceLimits())
    assert time.monotonic() - started < 2 and files_under(tmp_path / "src") == []


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", f"{TOP}/../../evil.py", f"{TOP}/a/../../../evil"])
def test_absolute_and_dotdot_paths_fail_the_unpack(tmp_path: Path, name: str) -> None:
    data = tarball(member(f"{TOP}/model.py", data=b"C = 1\n"), member(name, data=b"pwned"))
    with pytest.raises(SourceError, match="unsafe path"):
        unpack_tarball(data, tmp_path / "work" / "src", SMALL)
    assert not list(tmp_path.rglob("evil*")) and files_under(tmp_path / "work" / "src") == []


def test_links_and_special_files_are_skipped_and_nothing_lands_outside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "secret.pem"
    secret.write_text("KEY")
    data = tarball(
        member(f"{TOP}/key.pem", tarfile.SYMTYPE, linkname=str(secret)),
        member(f"{TOP}/up", tarfile.SYMTYPE, linkname="../.."),
        member(f"{TOP}/up/escaped.py", data=b"x"),  # through the link, were it created
        member(f"{TOP}/hard", tarfile.LNKTYPE, linkname="/etc/passwd"),
        member(f"{TOP}/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
        member(f"{TOP}/pipe", tarfile.FIFOTYPE),
        member(f"{TOP}/model.py", data=b"C = 1\n"),
    )
    with caplog.at_level(logging.INFO, logger="bot.runs.source"):
        dest = unpack_tarball(data, tmp_path / "work" / "src", SMALL)
    assert files_under(dest) == ["model.py", "up", "up/escaped.py"]
    assert (dest / "up").is_dir() and not (dest / "up").is_symlink()
    assert not (tmp_path / "escaped.py").exists() and secret.read_text() == "KEY"
    assert "skipped 5 links or special files" in caplog.text


def test_fetch_source_applies_the_caps_to_what_github_serves(sandbox: SandboxHandle, tmp_path: Path) -> None:
    files = {f"pkg/m{i:03d}.py": "x = 1\n" for i in range(40)}
    sha = str(sandbox.client.create_repo("acme", "bomb", files=files)["sha"])
    api = GitHubApp(sandbox.app_id, sandbox.private_key_pem, sandbox.url).for_repository("acme/bomb", None)
    with pytest.raises(SourceError, match="more than 20 entries"):
        fetch_source(api, Repo("acme", "bomb"), sha, tmp_path / "src", SMALL)
    assert files_under(tmp_path / "src") == []
    dest = fetch_source(api, Repo("acme", "bomb"), sha, tmp_path / "src", SourceLimits(max_entries=100))
    assert len(files_under(dest / "pkg")) == 40


@pytest.mark.parametrize(
    ("version", "fixed"),
    [((3, 11, 0), (3, 11, 13)), ((3, 11, 7), (3, 11, 13)), ((3, 11, 12), (3, 11, 13)), ((3, 11, 13), None),
     ((3, 11, 14), None), ((3, 12, 0), (3, 12, 11)), ((3, 12, 10), (3, 12, 11)), ((3, 12, 11), None),
     ((3, 13, 3), (3, 13, 4)), ((3, 13, 4), None), ((3, 14, 0), None)],
)
def test_pythons_whose_data_filter_has_known_bypasses(
    version: tuple[int, int, int], fixed: tuple[int, int, int] | None
) -> None:
    assert tarfile_filter_fix(version) == fixed


def test_the_startup_check_warns_and_names_the_validation_used(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.runs.source"):
        message = warn_if_tarfile_filter_is_weak((3, 11, 7))
        assert warn_if_tarfile_filter_is_weak((3, 11, 13)) is None
    assert message is not None and message in caplog.text
    assert "Python 3.11.7" in message and "fixed in 3.11.13" in message
    assert "checks every member" in message and "links and devices are skipped" in message
