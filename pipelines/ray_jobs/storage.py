"""One submission's folder on the storage the App and the Ray nodes share (``MODELGATE_RAY_STORAGE``: a
path mounted at the same place everywhere, or any fsspec URL such as ``s3://bucket/modelgate``):
``out/`` (what the job wrote), ``champion/`` (the champion's files, put there by the trusted side) and
``answer`` (the answer line, which appears whole).

The job never touches the storage itself: a relay on the node (``pipelines.ray_jobs.relay``) moves files
between it and the job's local folders. What comes back is untrusted all the same: copying it never
follows a link (on a shared volume, ``os.fwalk`` and ``O_NOFOLLOW``), skips devices and pipes, and stops
at the largest size and count the readers accept.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from pipelines.checkout import StepError
from pipelines.job import files

MAX_COPIED_BYTES = files.MAX_MODEL_BYTES
MAX_COPIED_ENTRIES = 10_000
LOCAL_PROTOCOLS = frozenset({"file", "local"})


@dataclass(frozen=True)
class SubmissionStorage:
    """The folder of one submission: ``url`` is a path or an fsspec URL."""

    url: str

    @classmethod
    def under(cls, storage: str | Path, submission_id: str) -> SubmissionStorage:
        """The folder of ``submission_id`` in ``storage``."""
        return cls(f"{str(storage).rstrip('/')}/{submission_id}")

    @cached_property
    def _located(self) -> tuple[Any, str]:
        from fsspec.core import url_to_fs

        return url_to_fs(self.url)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem of the storage."""
        return self._located[0]

    @property
    def root(self) -> str:
        return str(self._located[1]).rstrip("/")

    @property
    def out(self) -> str:
        return f"{self.root}/out"

    @property
    def champion(self) -> str:
        return f"{self.root}/champion"

    @property
    def answer(self) -> str:
        return f"{self.root}/answer"

    @property
    def is_local(self) -> bool:
        """Whether the storage is a folder of this host (a shared volume)."""
        protocol = self.fs.protocol
        return bool(set([protocol] if isinstance(protocol, str) else protocol) & LOCAL_PROTOCOLS)

    def clear(self) -> None:
        """Remove what an earlier submission with this id left (before a fresh submission). Two
        starters of one submission may clear at once: whatever the other removed first is fine."""
        if self.is_local:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(self.root, recursive=True)
        try:
            self.fs.makedirs(self.out, exist_ok=True)
        except FileNotFoundError:  # the other starter removed a parent while it was being made
            self.fs.makedirs(self.out, exist_ok=True)

    def put_champion(self, local: Path | None) -> None:
        """Copy the champion's files (trusted: fetched from the registry by the App) into storage."""
        if local is not None and local.is_dir():
            upload_tree(self.fs, local, self.champion)

    def put_answer(self, line: str) -> None:
        """Write the answer line so that it appears whole (written aside, then moved into place)."""
        partial = f"{self.root}/.answer.{os.getpid()}.tmp"
        self.fs.pipe_file(partial, (line + "\n").encode())
        self.fs.mv(partial, self.answer)

    def fetch_file(self, name: str, target: Path) -> bool:
        """Copy ``out/<name>`` into the local folder ``target`` when it is there (a regular file no larger
        than the readers accept); whether it was."""
        if self.is_local:
            copy_untrusted(Path(self.out), target, only=name)
            return (target / name).exists()
        try:
            info = self.fs.info(f"{self.out}/{name}")
        except FileNotFoundError:
            return False
        target.mkdir(parents=True, exist_ok=True)
        _download(self.fs, info, target / name, name)
        return True

    def fetch_outputs(self, target: Path) -> None:
        """Copy ``out/`` into the local ``target`` as data."""
        target.mkdir(parents=True, exist_ok=True)
        if self.is_local:
            copy_untrusted(Path(self.out), target)
        else:
            download_tree(self.fs, self.out, target)


def upload_tree(fs: Any, local: Path, remote: str) -> None:
    """Copy the regular files under the local folder ``local`` to ``remote`` (links are left out)."""
    for folder, _, names in os.walk(local):
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            destination = f"{remote}/{path.relative_to(local).as_posix()}"
            fs.makedirs(posixpath.dirname(destination), exist_ok=True)
            fs.put_file(str(path), destination)


def download_tree(fs: Any, remote: str, target: Path) -> None:
    """Copy the files under ``remote`` into the local ``target``: no more than MAX_COPIED_ENTRIES, none
    larger than MAX_COPIED_BYTES, none whose name would land outside ``target``."""
    found = fs.find(remote, detail=True) if fs.exists(remote) else {}
    if len(found) > MAX_COPIED_ENTRIES:
        raise StepError("crash", f"the job wrote more than {MAX_COPIED_ENTRIES} files")
    base = remote.rstrip("/")
    for path, info in found.items():
        relative = posixpath.relpath(str(path), base)
        parts = relative.split("/")
        if info.get("type") != "file" or relative.startswith("/") or ".." in parts or "" in parts:
            continue
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        _download(fs, info, destination, relative)


def _download(fs: Any, info: dict[str, Any], destination: Path, name: str) -> None:
    if info.get("type") != "file" or info.get("islink"):
        return
    _check_size(int(info.get("size") or 0), name)
    with fs.open(info["name"], "rb") as source:
        _copy_capped(source, destination, name)


def copy_untrusted(source: Path, target: Path, only: str | None = None) -> None:
    """Copy the tree at ``source`` written by an untrusted job into ``target`` without following links
    (``os.fwalk`` and ``O_NOFOLLOW``: a link swapped in meanwhile is not followed either); ``only``: just
    that top-level file.

    StepError("crash") when it holds more entries or a larger file than any reader accepts.
    """
    count = 0
    for folder, names, file_names, folder_fd in os.fwalk(source, follow_symlinks=False):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        if only is not None:
            if only in file_names:
                _copy_entry(folder_fd, only, here / only)
            return
        for name in [*names, *file_names]:
            count += 1
            if count > MAX_COPIED_ENTRIES:
                raise StepError("crash", f"the job wrote more than {MAX_COPIED_ENTRIES} files")
            _copy_entry(folder_fd, name, here / name)


def _copy_entry(folder_fd: int, name: str, destination: Path) -> None:
    """One entry of a folder: a link as a link, a regular file's bytes; folders are made by the walk."""
    info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        destination.unlink(missing_ok=True)
        destination.symlink_to(os.readlink(name, dir_fd=folder_fd))  # the readers refuse links
        return
    if not stat.S_ISREG(info.st_mode):
        return  # folders are walked; devices, pipes and sockets are left out
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    with os.fdopen(fd, "rb") as source:
        if stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            _copy_capped(source, destination, name)


def _check_size(size: int, name: str) -> None:
    if size > MAX_COPIED_BYTES:
        raise StepError("crash", f"the job wrote {name} of more than {MAX_COPIED_BYTES} bytes")


def _copy_capped(source: IO[bytes], destination: Path, name: str) -> None:
    """Copy ``source`` into ``destination``, failing past MAX_COPIED_BYTES."""
    with destination.open("wb") as out:
        copied = 0
        while chunk := source.read(1024 * 1024):
            copied += len(chunk)
            _check_size(copied, name)
            out.write(chunk)
