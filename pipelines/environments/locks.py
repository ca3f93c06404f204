"""Advisory file locks (flock) guarding one environment: shared while a job uses it, exclusive to build
or evict it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def lock_file(path: Path) -> Iterator[int]:
    """An open descriptor of the lock file ``path`` (created when missing); closing it releases its lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield fd
    finally:
        os.close(fd)


def hold_shared(fd: int) -> None:
    """Wait for and take the shared lock (any exclusive one first released by its holder)."""
    fcntl.flock(fd, fcntl.LOCK_SH)


def hold_exclusive(fd: int) -> None:
    """Drop this descriptor's lock, then wait for and take the exclusive lock."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    fcntl.flock(fd, fcntl.LOCK_EX)


def try_exclusive(fd: int) -> bool:
    """Take the exclusive lock if nobody holds the lock; never waits."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
