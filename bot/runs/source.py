"""A run's source tree: the commit's tarball, unpacked into a private directory.

No git clone and no credentials on disk: the tarball comes over the API with the
installation token, and only the files it contains are written.

The tarball is read as a stream, one member at a time, and modelgate writes every member itself:
only regular files and directories whose path is relative and has no ``..`` (links, devices and
FIFOs are skipped; an absolute or ``..`` path fails the run), each file opened with
``O_NOFOLLOW``. The number of entries and the total bytes are capped (``SourceLimits``); reading
stops at the first member past a cap, before any of its bytes are written. tarfile's ``data``
filter then checks each member again as a second layer, but it is not relied on: the releases
before 3.11.13, 3.12.11 and 3.13.4 have known bypasses (``tarfile_filter_fix``).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.github import Repo
from bot.github.clients import SourceReader

log = logging.getLogger(__name__)

MIB = 1024 * 1024

# The first release of each Python line whose tarfile data filter has no known bypass
# (CVE-2024-12718, CVE-2025-4138, CVE-2025-4330, CVE-2025-4435, CVE-2025-4517; June 2025).
FILTER_FIXED_IN: dict[tuple[int, int], tuple[int, int, int]] = {
    (3, 11): (3, 11, 13), (3, 12): (3, 12, 11), (3, 13): (3, 13, 4),
}


class SourceError(Exception):
    """The commit's source could not be fetched or unpacked."""


@dataclass(frozen=True)
class SourceLimits:
    """Caps on one unpacked tarball (``MODELGATE_SOURCE_MAX_BYTES`` / ``MODELGATE_SOURCE_MAX_ENTRIES``)."""

    max_bytes: int = 512 * MIB
    max_entries: int = 50_000


DEFAULT_LIMITS = SourceLimits()


def unpack_tarball(data: bytes, dest: Path, limits: SourceLimits = DEFAULT_LIMITS) -> Path:
    """Unpack a GitHub tarball (one top-level ``owner-repo-sha/`` folder) into ``dest``.

    Returns ``dest``, which then holds the repository root's files; SourceError when the tarball
    is unreadable, unsafe or over ``limits`` (nothing of it is left in ``dest`` then).
    """
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(dest.name + ".unpack")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as archive:
            _extract(archive, staging, limits)
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SourceError(f"could not unpack the source tarball: {exc}") from exc
    except SourceError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    tops = list(staging.iterdir())
    root = tops[0] if len(tops) == 1 and tops[0].is_dir() else staging
    for item in root.iterdir():
        shutil.move(str(item), dest / item.name)
    shutil.rmtree(staging, ignore_errors=True)
    return dest


def fetch_source(
    api: SourceReader, repo: Repo, sha: str, dest: Path, limits: SourceLimits = DEFAULT_LIMITS
) -> Path:
    """Download the tree at ``sha`` and unpack it into ``dest`` (emptied first)."""
    shutil.rmtree(dest, ignore_errors=True)
    return unpack_tarball(api.download_tarball(repo, sha), dest, limits)


def _extract(archive: tarfile.TarFile, staging: Path, limits: SourceLimits) -> None:
    entries = written = 0
    skipped: list[str] = []
    for member in archive:  # stream mode: the next header is read only when asked for
        entries += 1
        if entries > limits.max_entries:
            raise SourceError(f"the source tarball has more than {limits.max_entries} entries "
                              "(MODELGATE_SOURCE_MAX_ENTRIES); unpacking stopped there")
        path = _checked_path(member)
        if not (member.isfile() or member.isdir()):
            skipped.append(member.name)
            continue
        if member.isfile():
            written += member.size
            if written > limits.max_bytes:
                raise SourceError(f"the source tarball unpacks to more than {_size(limits.max_bytes)} "
                                  "(MODELGATE_SOURCE_MAX_BYTES); unpacking stopped there")
        _write(archive, _second_layer(member, staging), staging.joinpath(*path.parts))
    if skipped:
        log.info("source tarball: skipped %d links or special files (only regular files and "
                 "directories are unpacked), e.g. %.200s", len(skipped), skipped[0])


def _checked_path(member: tarfile.TarInfo) -> PurePosixPath:
    """The member's relative path; SourceError for an absolute or ``..`` path."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        raise SourceError(f"the source tarball has an unsafe path {member.name[:200]!r}; "
                          "unpacking stopped there")
    return path


def _second_layer(member: tarfile.TarInfo, staging: Path) -> tarfile.TarInfo:
    """tarfile's own ``data`` filter, where this Python has it (FilterError is a TarError)."""
    if not hasattr(tarfile, "data_filter"):  # Python before 3.11.4
        return member
    return tarfile.data_filter(member, str(staging))


def _write(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    source = archive.extractfile(member)
    assert source is not None  # a regular file
    mode = 0o755 if (member.mode or 0) & 0o100 else 0o644
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out)


def _size(count: int) -> str:
    return f"{count / MIB:g} MB" if count >= MIB else f"{count} bytes"


def tarfile_filter_fix(version: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """The release that fixes tarfile's data-filter bypasses, when ``version`` predates it; else None."""
    fixed = FILTER_FIXED_IN.get(version[:2])
    return fixed if fixed is not None and version < fixed else None


def warn_if_tarfile_filter_is_weak(version: tuple[int, int, int] | None = None) -> str | None:
    """At the start of ``serve``/``worker``: log (and return) a warning when this Python's tarfile
    data filter has known bypasses, naming the validation modelgate uses instead; None otherwise."""
    current = version or (sys.version_info.major, sys.version_info.minor, sys.version_info.micro)
    fixed = tarfile_filter_fix(current)
    if fixed is None:
        return None
    message = (
        f"Python {'.'.join(map(str, current))}: tarfile's data filter has known bypasses (fixed in "
        f"{'.'.join(map(str, fixed))}). modelgate does not rely on it: it checks every member of a "
        "source tarball itself and writes only regular files and directories with relative paths "
        "and no '..' (links and devices are skipped). Upgrade Python to have tarfile's filter as a "
        "second layer."
    )
    log.warning(message)
    return message
