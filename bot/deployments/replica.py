"""The replica's identity: a name kept in its data directory, the same after a restart (so a restarted
replica keeps the deployments it held at once) and different for every data directory."""

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
