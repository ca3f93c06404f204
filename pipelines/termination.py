"""What a SIGTERM (a cancel or a supersede) does to a pipeline process.

The handler kills this process's local jobs (each in a session of its own, so nothing else would end
them) at once, refuses jobs started after it, and raises ``Terminated`` so every ``finally`` runs (a Ray
job's ``stop_job`` among them). The kill does not wait for the exception: an exception raised while the
interpreter happens to run a ``__del__`` or a weakref callback is printed and dropped, and the run would
then go on until the executor's grace period SIGKILLs the pipeline process, leaving its job behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from types import FrameType

_job_groups: set[int] = set()  # process groups of the jobs this process started and has not ended
_terminated = False


class Terminated(BaseException):
    """SIGTERM arrived (the run was cancelled or superseded). A BaseException, so no ``except Exception``
    on the way turns it into a result, while every ``finally`` (the job's ``kill()``) runs."""


def raise_on_sigterm() -> None:
    """On the first SIGTERM: kill the jobs, refuse new ones and raise ``Terminated`` in the main thread;
    later SIGTERMs are ignored, so the clean-up runs to its end (the executor SIGKILLs after its grace
    period anyway)."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        global _terminated
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _terminated = True
        killed = sum(_kill(group) for group in list(_job_groups))
        os.write(2, f"stopped by SIGTERM (cancelled or superseded): {killed} job(s) killed\n".encode())
        raise Terminated(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)


def job_started(group: int) -> None:
    """Record a started job's process group, for the SIGTERM handler; when SIGTERM already came, the job
    is killed and ``Terminated`` raised (the run is stopping, whether or not its exception got through)."""
    _job_groups.add(group)  # before the check: a SIGTERM in between finds it in the set
    if _terminated:
        _kill(group)
        raise Terminated("SIGTERM came before this job started")


def job_ended(group: int) -> None:
    """Forget a job that was killed and waited for."""
    _job_groups.discard(group)


def kill_job(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a started job's process group (the job and everything it started), wait for it, forget it."""
    _kill(process.pid)
    process.wait()
    job_ended(process.pid)


def _kill(group: int) -> bool:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
        return True
    return False
