"""What a job on Ray is given: the relay's spec (the submission's folder on the shared storage, the job
with its working dir as the checkout, maybe a prebuilt environment), its command line, and its runtime
environment (the checkout as ``working_dir``, our ``pipelines`` package as a ``py_module``, variables
with nothing of the App's, the repository's requirements for Ray's ``uv``).
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pipelines
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy, job_environment
from pipelines.ray_jobs.relay import RelaySpec
from pipelines.ray_jobs.storage import SubmissionStorage

if TYPE_CHECKING:
    from pipelines.runtimes import JobRuntime

# variables of the local job environment that name this host's paths: the cluster sets its own
HOST_VARIABLES = frozenset({"PATH", "HOME", "TMPDIR", "PYTHONPATH"})
EXCLUDES = ["__pycache__/", "*.pyc", ".ruff_cache/"]


def relay_spec(spec: JobSpec, storage: SubmissionStorage, prebuilt: JobRuntime | None = None) -> RelaySpec:
    """What the relay on the node is told: the submission's folder, ``spec`` with its working dir (the
    uploaded checkout) as the repository, and a prebuilt environment's interpreter and the virtualenv
    that must be read-only on the node."""
    job = replace(spec, repo_dir=Path("."))
    if prebuilt is None:
        return RelaySpec(storage.url, job)
    assert prebuilt.python is not None  # a repository's environment: a virtualenv of the cache
    virtualenv = prebuilt.python.parent.parent  # <env>/bin/python (its base interpreter is the node's own)
    return RelaySpec(storage.url, job, str(prebuilt.python), (str(virtualenv),))


def entrypoint(relay: RelaySpec) -> str:
    """The job's shell command on the cluster (``python`` is the runtime environment's)."""
    return f"python -P -m pipelines.ray_jobs.relay {shlex.quote(relay.to_json())}"


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
