"""What a job on Ray is given: its spec (paths on the shared storage, its working dir as the checkout),
its command line, and its runtime environment (the checkout as ``working_dir``, our ``pipelines``
package as a ``py_module``, an environment with nothing of the App's, the repository's requirements).
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pipelines
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy, job_environment
from pipelines.ray_jobs.storage import SubmissionStorage

# variables of the local job environment that name this host's paths: the cluster sets its own
HOST_VARIABLES = frozenset({"PATH", "HOME", "TMPDIR", "PYTHONPATH"})
EXCLUDES = ["__pycache__/", "*.pyc", ".ruff_cache/"]


def remote_spec(spec: JobSpec, storage: SubmissionStorage) -> JobSpec:
    """``spec`` as the job on the cluster sees it: outputs, champion and answer on the storage, and its
    working dir (the uploaded checkout) as the repository."""
    champion = None if spec.champion_dir is None else storage.champion
    return replace(spec, repo_dir=Path("."), output_dir=storage.out, champion_dir=champion,
                   answer_file=str(storage.answer))


def entrypoint(spec: JobSpec) -> str:
    """The job's shell command on the cluster (``python`` is the runtime environment's)."""
    return f"python -P -m pipelines.job {shlex.quote(spec.to_json())}"


def remote_environment(policy: JobPolicy) -> dict[str, str]:
    """The job's variables: the local job's environment minus this host's paths (no App setting ever
    is in it), with the repository's job secrets (``policy.env``)."""
    with tempfile.TemporaryDirectory(prefix="modelgate-ray-env-") as scratch:
        local = job_environment(policy, Path(scratch))
    return {name: value for name, value in local.items() if name not in HOST_VARIABLES}


def runtime_env(repo_dir: Path, policy: JobPolicy, requirements: Sequence[str] | None) -> dict[str, Any]:
    """The runtime environment: the checkout, our job code, the variables, the requirements (``uv``;
    None: the cluster's own Python environment)."""
    env: dict[str, Any] = {
        "working_dir": str(repo_dir),
        "py_modules": [str(Path(pipelines.__file__).resolve().parent)],
        "env_vars": remote_environment(policy),
        "excludes": list(EXCLUDES),
    }
    if requirements is not None:
        env["uv"] = {"packages": list(requirements)}
    return env
