"""Running the untrusted job on a Ray cluster (``MODELGATE_EXECUTOR=ray``) instead of this host.

``RayJob`` has the surface of ``pipelines.job_process.JobProcess``; the trusted side stays in the App.
``ray`` is an optional extra: it is imported only inside ``pipelines.ray_jobs.client``'s functions. The
names below load lazily: on a Ray node, ``pipelines.ray_jobs.relay`` needs none of the trusted side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.ray_jobs.job import RayJob
    from pipelines.ray_jobs.target import RayTarget

__all__ = ["RayJob", "RayTarget"]


def __getattr__(name: str) -> Any:
    if name == "RayJob":
        from pipelines.ray_jobs.job import RayJob

        return RayJob
    if name == "RayTarget":
        from pipelines.ray_jobs.target import RayTarget

        return RayTarget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
