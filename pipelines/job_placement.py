"""Where a job runs: on this host in its sandbox (``JobProcess``) or on a Ray cluster (``RayJob``,
when the policy names one). Both have one surface: ``start``, ``fingerprint``, ``answer``, ``wait``,
``kill``, ``tail`` and ``mask``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy, JobProcess
from pipelines.promotion import RUN_ID_TAG
from pipelines.runtimes import JobRuntime


def start_job(
    spec: JobSpec, policy: JobPolicy, scratch: Path, timeout_seconds: float, runtime: JobRuntime,
    tags: Mapping[str, str], warm: Any = None,
) -> Any:
    """The job of ``spec``, started where ``policy`` says, in ``runtime`` (handed to ``warm``, a
    ``pipelines.warm_job.WarmJob`` started for it, when there is one)."""
    if policy.ray is None:
        job: Any = JobProcess(spec, policy, scratch, timeout_seconds, runtime.python, runtime.folders, warm)
    else:
        from pipelines.ray_jobs import RayJob

        job = RayJob(spec, policy, policy.ray, submission_id(tags, spec.kind), timeout_seconds,
                     runtime if runtime.key is not None else None)
    job.start()
    return job


def submission_id(tags: Mapping[str, str], kind: str) -> str:
    """One Ray submission per modelgate run (a retry of the run finds its job instead of starting a
    second); runs from the CLI, which have no run id, get a fresh one."""
    run = tags.get(RUN_ID_TAG)
    return f"modelgate-run-{run}-{kind}" if run else f"modelgate-{kind}-{uuid.uuid4().hex}"
