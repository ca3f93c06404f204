"""Where jobs go when they run on Ray: the cluster's Jobs API and the storage both sides share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RayTarget:
    """A Ray cluster for jobs.

    ``address`` is the Jobs API (the head's dashboard, ``http://HOST:8265``). ``storage`` is a folder
    the App and every cluster node read and write at this same path (a shared volume); each
    submission gets ``<storage>/<submission id>/``. A cluster that does not answer for
    ``unreachable_seconds`` counts as gone (the job "vanished").
    """

    address: str
    storage: Path
    unreachable_seconds: float = 60.0
