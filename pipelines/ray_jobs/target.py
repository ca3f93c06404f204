"""Where jobs go when they run on Ray: the cluster's Jobs API, the storage both sides share, and where
the repositories' environments come from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

RayEnvironments = Literal["uv", "prebuilt"]


@dataclass(frozen=True)
class RayTarget:
    """A Ray cluster for jobs.

    ``address`` is the Jobs API (the head's dashboard, ``http://HOST:8265``). ``storage`` is where each
    submission gets a folder ``<storage>/<submission id>/``: a path every node mounts at the same place,
    or an fsspec URL (``s3://bucket/prefix``) the nodes reach with credentials of their own.
    ``environments``: a repository's environment is made on the node by Ray's ``uv`` runtime environment
    from its pins (``uv``), or the App's prebuilt one is used (``prebuilt``: the environment cache is a
    volume the nodes mount read-only at the same path). A cluster that does not answer for
    ``unreachable_seconds`` counts as gone (the job "vanished").
    """

    address: str
    storage: str | Path
    unreachable_seconds: float = 60.0
    environments: RayEnvironments = "uv"


def storage_location(value: str) -> str:
    """``value`` checked as the shared storage: an existing folder (returned absolute), or a URL whose
    fsspec protocol is installed here (ValueError says what is missing)."""
    if "://" not in value or value.startswith("file://"):
        folder = Path(value.removeprefix("file://"))
        if not folder.is_dir():
            raise ValueError("must be an existing directory (shared with the nodes, at the same path) or an "
                             "fsspec URL")
        return str(folder.resolve())
    protocol = value.split("://", 1)[0]
    try:
        from fsspec import get_filesystem_class

        get_filesystem_class(protocol)
    except ImportError as exc:
        raise ValueError(f"{protocol}:// needs a package this App lacks: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{protocol}:// is not a storage fsspec knows ({exc})") from None
    return value.rstrip("/")
