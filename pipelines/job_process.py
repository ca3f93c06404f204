"""Starting a job (``pipelines.job``) in its sandbox and talking to it: the fingerprint handshake on
stdin, its output pumped to ours (with a tail kept), the time and memory limits.

This is trusted code: it builds the job's environment from nothing (no setting, token or tracking
URI reaches the job) and mounts only the job's checkout, its output folder and the champion's files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines import termination
from pipelines.checkout import StepError
from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.masking import Masker
from pipelines.result import LOG_TAIL_LINES
from pipelines.sandbox import Isolation, Sandbox, package_root

_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class EnvironmentSettings:
    """Where repositories' environments are built and kept (``MODELGATE_ENV_CACHE_GB`` caps them) and
    the package index their builds may reach (``MODELGATE_PACKAGE_INDEX_URL``; None: uv's default)."""

    root: Path
    cap_bytes: int | None = None
    index_url: str | None = None


@dataclass(frozen=True)
class JobPolicy:
    """What the operator allows a job: isolation, network, memory, the repository's job secrets, where
    its environment comes from (``environments``; None: the App's own runtime), whose code that
    environment is built from (``scope``: ``base`` or ``fork:<owner/repo>``, never shared), and where
    the job runs (``ray``: a ``pipelines.ray_jobs.RayTarget``; None: on this host), and what it may know of
    its run (``context``: ``MODELGATE_TRIGGER``, ``MODELGATE_SCHEDULED_AT``; not secret, never masked)."""

    isolation: Isolation = Isolation.BWRAP
    network: bool = False
    memory_mb: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    environments: EnvironmentSettings | None = None
    scope: str = "base"
    ray: Any = None
    context: Mapping[str, str] = field(default_factory=dict)  # what the job may know of its run (not secret)


def policy_document(policy: JobPolicy) -> dict[str, Any]:
    """The policy as JSON for the pipeline process's job file, without the job secrets (they may hold
    credentials: they travel in its environment)."""
    environments = policy.environments
    ray = policy.ray
    return {
        "isolation": str(policy.isolation), "network": policy.network, "memory_mb": policy.memory_mb,
        "scope": policy.scope, "context": dict(policy.context),
        "environments": None if environments is None else {
            "root": str(environments.root), "cap_bytes": environments.cap_bytes,
            "index_url": environments.index_url},
        "ray": None if ray is None else {"address": ray.address, "storage": str(ray.storage),
                                         "unreachable_seconds": ray.unreachable_seconds,
                                         "environments": ray.environments},
    }


def policy_from_document(stated: Mapping[str, Any], secrets: Mapping[str, str]) -> JobPolicy:
    """Rebuild a ``policy_document`` (plus the job secrets from the environment)."""
    environments = stated.get("environments")
    ray = stated.get("ray")
    target = None
    if ray:
        from pipelines.ray_jobs import RayTarget

        target = RayTarget(str(ray["address"]), str(ray["storage"]),
                           float(ray.get("unreachable_seconds", 60.0)), ray.get("environments", "uv"))
    return JobPolicy(
        Isolation(stated.get("isolation", Isolation.BWRAP)), bool(stated.get("network")),
        stated.get("memory_mb"), {str(k): str(v) for k, v in secrets.items()},
        environments=None if not environments else EnvironmentSettings(
            Path(environments["root"]), environments.get("cap_bytes"), environments.get("index_url")),
        scope=str(stated.get("scope") or "base"), ray=target,
        context={str(k): str(v) for k, v in (stated.get("context") or {}).items()},
    )


def job_environment(policy: JobPolicy, scratch: Path, python: Path | None = None) -> dict[str, str]:
    """The job's whole environment, built from nothing: no App setting ever reaches it. Makes the
    home and temp folders it names under ``scratch`` (used when the job runs without isolation).
    ``python``: the interpreter of the repository's environment (default: the App's)."""
    for folder in ("home", "tmp"):
        (scratch / folder).mkdir(parents=True, exist_ok=True)
    inside = policy.isolation == Isolation.BWRAP
    home = Path("/tmp/home") if inside else scratch / "home"
    tmp = Path("/tmp") if inside else scratch / "tmp"
    interpreter = Path(sys.executable) if python is None else python
    binaries = os.pathsep.join([str(interpreter.parent), "/usr/local/bin", "/usr/bin", "/bin"])
    return {
        **policy.env, **policy.context,
        "PATH": binaries, "HOME": str(home), "TMPDIR": str(tmp), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "PYTHONPATH": str(package_root()), "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg", "MODELGATE_JOB": "1",
    }


class JobProcess:
    """One running job. ``start()``, then ``fingerprint()``, ``answer()`` and ``wait()``. ``python`` is
    the interpreter of the repository's environment (default: the App's), whose folders
    ``runtime_dirs`` the job sees read-only. ``warm``: a ``pipelines.warm_job.WarmJob`` whose sandbox was
    started for this job's (its spec names the warm job's folders); it gets the spec and job secrets on
    stdin, and a fresh job starts instead if it died meanwhile."""

    def __init__(
        self, spec: JobSpec, policy: JobPolicy, scratch: Path, timeout_seconds: float,
        python: Path | None = None, runtime_dirs: Sequence[Path] = (), warm: Any = None,
    ) -> None:
        self.spec, self.policy, self.scratch = spec, policy, scratch
        self.python, self.runtime_dirs, self.warm = python, tuple(runtime_dirs), warm
        self.deadline = time.monotonic() + timeout_seconds
        self.timeout_seconds = timeout_seconds
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.mask = Masker(policy.env.values())
        self._process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        """Start the sandboxed process, or hand the warm one its job (StepError("crash") if the sandbox
        cannot start)."""
        self.spec.output_dir.mkdir(parents=True, exist_ok=True)
        if self.warm is not None and self._hand_over(self.warm):
            return
        sandbox = Sandbox(
            self.policy.isolation, network=self.policy.network, workdir=self.spec.repo_dir,
            readable=[] if self.spec.champion_dir is None else [self.spec.champion_dir],
            writable=[self.spec.repo_dir, self.spec.output_dir],
            tmp_bytes=None if not self.policy.memory_mb else self.policy.memory_mb * 1024 * 1024,
            extra_runtime=self.runtime_dirs,
        )
        argv = [str(self.python or sys.executable), "-P", "-m", "pipelines.job", self.spec.to_json()]
        command = memory_limited(sandbox.command(argv), self.policy.memory_mb)
        try:
            self._process = subprocess.Popen(
                command, cwd=self.spec.repo_dir, env=job_environment(self.policy, self.scratch, self.python),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise StepError("crash", f"could not start the job: {exc}") from exc
        termination.job_started(self._process.pid)
        self._start_pump()

    def _hand_over(self, warm: Any) -> bool:
        """Give the warm job this job's spec and secrets; False (it is killed) when it is gone."""
        from pipelines.job.warm import hand_over_line

        process = warm.process
        try:
            # the run's secrets and context (its trigger): a warm job started before the run knows neither
            process.stdin.write(hand_over_line(self.spec, {**self.policy.env, **self.policy.context}))
            process.stdin.flush()
        except (OSError, ValueError):
            warm.kill()
            return False
        self._process = process
        termination.job_started(process.pid)
        self._start_pump()
        return True

    def _start_pump(self) -> None:
        self._pump = threading.Thread(target=self._copy_output, name="job-output", daemon=True)
        self._pump.start()

    def fingerprint(self) -> files.JobFingerprint | None:
        """Wait for the job's data fingerprint; None when the job ended (or failed) before writing it."""
        return files.wait_for_fingerprint(self.spec.output_dir, self._alive, _POLL_SECONDS)

    def answer(self, go_on: bool, champion_version: int | None = None) -> None:
        """Tell the job to train (with the champion's version when its files are there) or to stop
        because an earlier result is reused."""
        process = self._require()
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            process.stdin.write((files.answer_line(go_on, champion_version) + "\n").encode())
            process.stdin.close()

    def wait(self) -> int:
        """The job's exit code once it ends; StepError("timeout") when the time limit passes first."""
        process = self._require()
        while process.poll() is None:
            if time.monotonic() >= self.deadline:
                self.kill()
                raise StepError("timeout", f"timed out after {self.timeout_seconds:g} s", list(self.tail))
            time.sleep(_POLL_SECONDS)
        self.kill()  # whatever it left running (the sandbox's pid namespace ends with it anyway)
        if self._pump is not None:
            self._pump.join(timeout=5)
        return process.returncode

    def kill(self) -> None:
        """Stop the job and everything it started."""
        if self._process is not None:
            termination.kill_job(self._process)

    def _alive(self) -> bool:
        process = self._require()
        if time.monotonic() >= self.deadline:
            self.kill()
            raise StepError("timeout", f"timed out after {self.timeout_seconds:g} s", list(self.tail))
        return process.poll() is None

    def _require(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("the job was not started")
        return self._process

    def _copy_output(self) -> None:
        """The job's output, line by line and with its secrets masked, to our stdout (the run's log)
        and into the tail."""
        process = self._require()
        assert process.stdout is not None
        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        for raw in process.stdout:
            line = self.mask(raw.decode("utf-8", errors="replace").rstrip("\n"))
            self.tail.append(line)
            if out is not None:
                with contextlib.suppress(OSError, ValueError):
                    out.write(line.encode("utf-8") + b"\n")
                    out.flush()


def memory_limited(command: list[str], memory_mb: int | None) -> list[str]:
    """``command`` under an address-space limit (util-linux ``prlimit``) when one is set."""
    if not memory_mb:
        return command
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise StepError("crash", "MODELGATE_JOB_MEMORY_MB is set but prlimit (util-linux) is not installed")
    return [prlimit, f"--as={memory_mb * 1024 * 1024}", "--", *command]
