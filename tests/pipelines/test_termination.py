"""A SIGTERM stops a pipeline process's jobs even when its ``Terminated`` never reaches a ``finally``:
raised while the interpreter runs a ``__del__``, the exception is printed and dropped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# a pipeline process's shape: two jobs in sessions of their own; the SIGTERM lands inside a __del__
PIPELINE_PROCESS = '''
import gc, os, signal, subprocess, sys
from pipelines import termination

termination.raise_on_sigterm()
first = subprocess.Popen(["sleep", "600"], start_new_session=True)
termination.job_started(first.pid)
ended = subprocess.Popen(["sleep", "600"], start_new_session=True)
termination.job_started(ended.pid)
ended.kill(); ended.wait(); termination.job_ended(ended.pid)

class Finalised:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # the handler runs here; its exception cannot leave a __del__

Finalised()
gc.collect()
print("went on", flush=True)
print("first job ended by signal", -first.wait(timeout=10), flush=True)
later = subprocess.Popen(["sleep", "600"], start_new_session=True)
try:
    termination.job_started(later.pid)
except termination.Terminated:
    print("later job refused, ended by signal", -later.wait(timeout=10), flush=True)
'''


def test_sigterm_kills_the_jobs_and_refuses_new_ones_even_when_its_exception_is_dropped() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", PIPELINE_PROCESS], cwd=root, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "went on", "first job ended by signal 9", "later job refused, ended by signal 9",
    ]
    assert "stopped by SIGTERM (cancelled or superseded): 1 job(s) killed" in done.stderr
    assert "Exception ignored" in done.stderr  # the case this guards: Terminated was dropped
