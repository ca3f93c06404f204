"""A warm job: ``python -P -m pipelines.job --warm``, started in its sandbox before its run arrives.

It imports what jobs use (the job's own modules, numpy, pandas, scikit-learn and its common parts: those
this environment has) and waits for one line on stdin: the run's ``JobSpec`` and its job secrets (which
never sit in the sandbox's environment at start: ``/proc/<pid>/environ`` does not show them). It then runs
that one job exactly as ``python -P -m pipelines.job SPEC_JSON`` would, and exits. EOF instead of a line:
it was not needed (exit 0). A run that arrives while it still imports stops the preloading: its job
imports what it needs as it goes.

Its libraries are imported before the job secrets arrive: a secret that configures a library when it is
imported (``OMP_NUM_THREADS``, say) does not reach them as it would in a fresh job.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import sys
from collections.abc import Callable

from pipelines.job.run import JobSpec, run_job

WARM_FLAG = "--warm"
# what a job imports anyway (ours), then the libraries repositories' data and train functions commonly use
JOB_MODULES = ("pipelines.analysis", "pipelines.config", "pipelines.evaluation", "pipelines.fingerprint",
               "pipelines.job.arrays", "pipelines.job.recorded", "pipelines.job.timing", "pipelines.metrics",
               "pipelines.model_metrics", "pipelines.slices", "cloudpickle")
LIBRARY_MODULES = ("numpy", "pandas", "sklearn.base", "sklearn.datasets", "sklearn.ensemble",
                   "sklearn.linear_model", "sklearn.metrics", "sklearn.model_selection", "sklearn.pipeline",
                   "sklearn.preprocessing", "sklearn.tree")


def preload(
    names: tuple[str, ...] = JOB_MODULES + LIBRARY_MODULES, stop: Callable[[], bool] = lambda: False
) -> list[str]:
    """Import ``names`` until ``stop()`` (the run arrived: it imports what it needs itself); the ones this
    environment lacks (or cannot import) are skipped and returned."""
    missing = []
    for name in names:
        if stop():
            break
        try:
            importlib.import_module(name)
        except Exception:  # a repository's environment without pandas, say: its jobs do not need it
            missing.append(name)
    return missing


def hand_over_line(spec: JobSpec, secrets: dict[str, str]) -> bytes:
    """What the trusted side sends a warm job: its spec and job secrets, as one JSON line."""
    return (json.dumps({"spec": spec.to_json(), "env": secrets}) + "\n").encode()


def read_hand_over(line: str) -> tuple[JobSpec, dict[str, str]]:
    """The spec and secrets of a ``hand_over_line``."""
    data = json.loads(line)
    env = data["env"]
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in env.items()):
        raise ValueError("the hand-over's env must map names to strings")
    return JobSpec.from_json(data["spec"]), dict(env)


def _arrived() -> bool:
    """True once the hand-over (or EOF) is waiting on stdin."""
    return bool(select.select([sys.stdin], [], [], 0)[0])


def serve() -> int:
    """Preload, wait for the run, take on its secrets and run its job; 0 when no run came."""
    preload(stop=_arrived)
    line = sys.stdin.readline()
    if not line:
        return 0
    spec, secrets = read_hand_over(line)
    for name, value in secrets.items():  # as a fresh job's environment: the sandbox's own variables win
        os.environ.setdefault(name, value)
    return run_job(spec)
