"""A sandboxed job started before its run (``pipelines.job.warm``), held by a standby pipeline process.

The standby starts it with the sandbox a job of the last run's policy gets (bubblewrap, namespaces, no
network unless allowed, the memory limit), in the App's runtime, with no job secrets, its checkout, output
and champion folders bound to empty folders of its own slot. When its run arrives and asks for the same
sandbox (``WarmKey``), the run's checkout is moved into the slot (and back when the run ends) and the job
gets its spec and the repository's job secrets on stdin. It serves that one run and ends; the slot is the
standby's, removed with it. A run that asks for another sandbox (another environment, isolation, network
or memory limit) gets a fresh job; the warm one is killed. ``--die-with-parent``: it never outlives its
standby.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines import termination
from pipelines.job.warm import WARM_FLAG
from pipelines.job_process import (
    JobPolicy,
    job_environment,
    memory_limited,
    policy_document,
    policy_from_document,
)
from pipelines.runtimes import JobRuntime
from pipelines.sandbox import Isolation, Sandbox

log = logging.getLogger(__name__)
WARM_JOB_VARIABLE = "MODELGATE_WARM_JOB"  # a standby's: the policy (no secrets) of the job to start ahead
WARM_JOB_TAKES = "job: a warm job (started ahead) runs it"  # logged by a run whose job it is


@dataclass(frozen=True)
class WarmKey:
    """The sandbox a job runs in: a warm job serves a run whose key is the same."""

    isolation: Isolation
    network: bool
    memory_mb: int | None
    python: Path | None
    folders: tuple[Path, ...]


def warm_key(policy: JobPolicy, runtime: JobRuntime) -> WarmKey | None:
    """The key of a job of ``policy`` in ``runtime``; None when no warm job can serve it (no isolation, a
    Ray cluster, a repository's own environment)."""
    if policy.isolation != Isolation.BWRAP or policy.ray is not None or runtime.key is not None:
        return None
    memory = policy.memory_mb or None
    return WarmKey(policy.isolation, policy.network, memory, runtime.python, runtime.folders)


def warm_policy(policy: JobPolicy) -> str | None:
    """The value of ``WARM_JOB_VARIABLE`` for jobs like ``policy`` (None: none can be warm)."""
    if policy.isolation != Isolation.BWRAP or policy.ray is not None:
        return None
    # no job secrets nor the last run's context (its trigger): both come with the next run's hand-over
    return json.dumps({**policy_document(policy), "context": {}})


class WarmJob:
    """One warm job and its slot: ``checkout``, ``output`` and ``champion`` folders."""

    def __init__(self, slot: Path, policy: JobPolicy, runtime: JobRuntime) -> None:
        self.slot = slot.resolve()
        self.checkout, self.output, self.champion = (self.slot / name for name in ("repo", "out", "champion"))
        self.key = warm_key(policy, runtime)
        self.policy, self.runtime = policy, runtime
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the sandbox and its interpreter, which imports ahead; OSError if it cannot start."""
        for folder in (self.checkout, self.output, self.champion, self.slot / "scratch"):
            folder.mkdir(parents=True)
        sandbox = Sandbox(
            self.policy.isolation, network=self.policy.network, workdir=self.checkout,
            readable=[self.champion], writable=[self.checkout, self.output],
            tmp_bytes=None if not self.policy.memory_mb else self.policy.memory_mb * 1024 * 1024,
            extra_runtime=self.runtime.folders,
        )
        python = self.runtime.python or Path(sys.executable)
        command = memory_limited(sandbox.command([str(python), "-P", "-m", "pipelines.job", WARM_FLAG]),
                                 self.policy.memory_mb)
        env = job_environment(self.policy, self.slot / "scratch", self.runtime.python)
        self.process = subprocess.Popen(
            command, cwd=self.checkout, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        termination.job_started(self.process.pid)

    def usable_for(self, key: WarmKey | None) -> bool:
        """Alive, and started for the sandbox ``key`` names."""
        alive = self.process is not None and self.process.poll() is None
        return alive and key is not None and key == self.key

    @contextlib.contextmanager
    def holding(self, repo_dir: Path) -> Iterator[Path]:
        """Move the checkout's entries into the slot's (the job's) checkout folder, and what is there back
        when the block ends (its job killed by then); OSError (nothing moved) if they cannot be moved, e.g.
        to another file system. Yields the folder the job sees."""
        try:
            for entry in sorted(os.listdir(repo_dir)):
                os.rename(repo_dir / entry, self.checkout / entry)
            yield self.checkout
        finally:
            for entry in os.listdir(self.checkout) if self.checkout.is_dir() else []:
                with contextlib.suppress(OSError):
                    os.rename(self.checkout / entry, repo_dir / entry)

    def kill(self) -> None:
        """Stop the warm job (it was not used)."""
        if self.process is not None:
            termination.kill_job(self.process)


held: WarmJob | None = None  # this standby's warm job, until a run takes it


def start_held(slot: Path, document: str) -> None:
    """Start this process's warm job for jobs of the policy ``document`` (``WARM_JOB_VARIABLE``), in the
    App's runtime. A failure is logged: the run then starts its job the usual way."""
    global held
    from pipelines.runtimes import default_runtime

    warm = WarmJob(slot, policy_from_document(json.loads(document), {}), default_runtime())
    try:
        warm.start()
    except (OSError, ValueError) as exc:
        log.warning("no warm job: %s", exc)
        return
    held = warm


def job_folders(
    stack: contextlib.ExitStack[bool | None], policy: JobPolicy, runtime: JobRuntime, repo_dir: Path,
    scratch: Path,
) -> tuple[WarmJob | None, Path, Path, Path]:
    """Where a run's job works: (this process's warm job when it serves the run, else None; the job's
    checkout, output and champion folders). The warm job's slot holds the checkout until ``stack`` closes."""
    warm = take(warm_key(policy, runtime))
    if warm is not None:
        try:
            checkout = stack.enter_context(warm.holding(repo_dir))
            log.info(WARM_JOB_TAKES)
            return warm, checkout, warm.output, warm.champion
        except OSError as exc:
            log.warning("the warm job cannot take the checkout (%s): a fresh job runs it", exc)
            warm.kill()
    output, champion = scratch / "out", scratch / "champion"
    champion.mkdir()
    return None, repo_dir, output, champion


def take(key: WarmKey | None) -> WarmJob | None:
    """This process's warm job when it can serve ``key`` (it is then no longer held); otherwise None, and a
    warm job held for another sandbox is killed."""
    global held
    warm, held = held, None
    if warm is None:
        return None
    if not warm.usable_for(key):
        warm.kill()
        return None
    return warm
