"""Running the untrusted job on a Ray cluster (``MODELGATE_EXECUTOR=ray``) instead of this host.

``RayJob`` has the surface of ``pipelines.job_process.JobProcess``; the trusted side stays in the App.
``ray`` is an optional extra: it is imported only inside ``pipelines.ray_jobs.client``'s functions.
"""

from pipelines.ray_jobs.job import RayJob
from pipelines.ray_jobs.target import RayTarget

__all__ = ["RayJob", "RayTarget"]
