"""Who holds a deployment's lease: a process of a replica. The replica's name is kept in its data
directory (the same after a restart, different for every data directory); the holder adds the process id,
so that two processes on one data directory (``--processes``, ``serve`` beside ``worker``) never both keep
one deployment, and a restarted process takes over at once what a dead process of its replica held."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

REPLICA_FILE = "replica-id"


def replica_id(data_dir: Path) -> str:
    """``<host>-<random>``, created once in ``data_dir`` (atomically: two processes agree)."""
    path = data_dir / REPLICA_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    candidate = data_dir / f".{REPLICA_FILE}.{os.getpid()}"
    candidate.write_text(f"{socket.gethostname()[:100]}-{uuid.uuid4().hex[:12]}\n")
    try:
        os.link(candidate, path)  # fails when another process made it first: theirs is the id
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)
    return path.read_text().strip()


def process_holder(replica: str) -> str:
    """This process's name as a lease holder: ``<replica>/<pid>``."""
    return f"{replica}/{os.getpid()}"


def orphaned(holder: str | None, mine: str) -> bool:
    """Whether ``holder`` is another process of the replica of ``mine`` that no longer runs (its lease can
    be taken at once: a kill -9 left it)."""
    if holder is None or holder == mine:
        return False
    replica, _, pid = holder.rpartition("/")
    if replica != mine.rpartition("/")[0] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
