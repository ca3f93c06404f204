"""A run's source tree: the commit's tarball, unpacked into a private directory.

No git clone and no credentials on disk: the tarball comes over the API with the
installation token, and only the files it contains are written.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

from bot.github import Repo
from bot.github.clients import SourceReader


class SourceError(Exception):
    """The commit's source could not be fetched or unpacked."""


def unpack_tarball(data: bytes, dest: Path) -> Path:
    """Unpack a GitHub tarball (one top-level ``owner-repo-sha/`` folder) into ``dest``.

    Uses tarfile's ``data`` filter: no absolute paths, no ``..``, no links out of the tree,
    no device files. Returns ``dest``, which then holds the repository root's files.
    """
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(dest.name + ".unpack")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(staging, filter="data")
    except (tarfile.TarError, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SourceError(f"could not unpack the source tarball: {exc}") from exc
    tops = list(staging.iterdir())
    root = tops[0] if len(tops) == 1 and tops[0].is_dir() else staging
    for item in root.iterdir():
        shutil.move(str(item), dest / item.name)
    shutil.rmtree(staging, ignore_errors=True)
    return dest


def fetch_source(api: SourceReader, repo: Repo, sha: str, dest: Path) -> Path:
    """Download the tree at ``sha`` and unpack it into ``dest`` (emptied first)."""
    shutil.rmtree(dest, ignore_errors=True)
    return unpack_tarball(api.download_tarball(repo, sha), dest)
