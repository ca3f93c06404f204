"""One submission's folder on the shared storage: ``out/`` (what the job writes), ``champion/`` (the
champion's files, copied in by the trusted side) and ``answer`` (the answer line, written atomically).

The job is untrusted and can write anything into ``out/``: copying it back never follows a link
(links are copied as links, so the readers of ``pipelines.job.files`` refuse them) and skips
devices and pipes, and files above the largest size the readers accept.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from pipelines.checkout import StepError
from pipelines.job import files

MAX_COPIED_BYTES = files.MAX_MODEL_BYTES
MAX_COPIED_ENTRIES = 10_000


@dataclass(frozen=True)
class SubmissionStorage:
    """The paths of one submission under the shared storage."""

    root: Path

    @classmethod
    def under(cls, storage: Path, submission_id: str) -> SubmissionStorage:
        """The folder of ``submission_id`` in ``storage``."""
        return cls(Path(storage) / submission_id)

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def champion(self) -> Path:
        return self.root / "champion"

    @property
    def answer(self) -> Path:
        return self.root / "answer"

    def prepare(self) -> None:
        """Make the folders (kept as they are when they exist)."""
        for folder in (self.out, self.champion):
            folder.mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        """Remove what an earlier submission with this id left (before a fresh submission)."""
        self.answer.unlink(missing_ok=True)
        for folder in (self.out, self.champion):
            shutil.rmtree(folder, ignore_errors=True)
        self.prepare()

    def put_champion(self, local: Path | None) -> None:
        """Copy the champion's files (trusted: fetched from the registry by the App) into storage."""
        if local is not None and local.is_dir():
            shutil.copytree(local, self.champion, symlinks=True, dirs_exist_ok=True)

    def put_answer(self, line: str) -> None:
        """Write the answer line atomically (a temporary file, then a rename)."""
        partial = self.root / f".answer.{os.getpid()}.tmp"
        partial.write_text(line + "\n", encoding="utf-8")
        os.replace(partial, self.answer)

    def fetch_outputs(self, target: Path) -> None:
        """Copy ``out/`` into the local ``target`` as data: links as links, no devices or pipes."""
        target.mkdir(parents=True, exist_ok=True)
        copy_untrusted(self.out, target)


def copy_untrusted(source: Path, target: Path) -> None:
    """Copy the tree at ``source`` written by an untrusted job into ``target`` without following links
    (``os.fwalk`` and ``O_NOFOLLOW``: a link swapped in meanwhile is not followed either).

    StepError("crash") when it holds more entries or a larger file than any reader accepts.
    """
    count = 0
    for folder, names, file_names, folder_fd in os.fwalk(source, follow_symlinks=False):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
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
        opened = os.fstat(source.fileno())
        if not stat.S_ISREG(opened.st_mode):
            return
        with destination.open("wb") as out:
            copied = 0
            while chunk := source.read(1024 * 1024):
                copied += len(chunk)
                if copied > MAX_COPIED_BYTES:
                    raise StepError("crash", f"the job wrote {name} of more than {MAX_COPIED_BYTES} bytes")
                out.write(chunk)
