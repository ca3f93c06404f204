"""A pipeline process started before its job: Python, MLflow (its stores opened on the tracking URI),
the report's libraries, all imported ahead, so a run does not wait for them.

``LocalExecutor`` keeps one standby warm for the next job whose tracking URI and App environment match the
last one's (``StandbyKey``). Handing a job over sends one JSON line on the standby's stdin: the job file,
the working directory and the whole environment of the job (job secrets included: they never sit in the
standby's own environment). The process then takes on that environment, its log file and folder, and runs
the job exactly as ``python -P -m pipelines.entry job.json`` would. Each standby serves one job and ends:
runs share no process. A standby that is not used is retired (stdin closed, process group killed).

With ``MODELGATE_WARM_JOB`` set, a standby also starts a sandboxed job ahead (``pipelines.warm_job``), which
the run's pipeline hands its job to when the run asks for the same sandbox.

Run by the executor as ``python -P -m pipelines.standby`` (the tracking URI in ``MLFLOW_TRACKING_URI``,
never on the command line: it may carry credentials).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

WARM_UP_MODEL = "modelgate-standby-warm-up"  # looked up (read only) so the registry store opens
TOOK_OVER = "standby pipeline process took the job"  # its first log line, in the job's log
IDLE_SECONDS = 900.0  # a standby nobody takes ends by itself (an executor that was never shut down)


@dataclass(frozen=True)
class StandbyKey:
    """What a standby was started for: a job matches when both are the same."""

    tracking_uri: str
    env: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HandOver:
    """A pipeline process's job: its file, working directory, whole environment and log file. What a
    standby is told when its job arrives, and what a fresh process is started with."""

    job_file: Path
    cwd: Path
    env: dict[str, str]
    log_file: Path

    def line(self) -> bytes:
        """The hand-over as one JSON line."""
        document = {"job_file": str(self.job_file), "cwd": str(self.cwd), "env": self.env,
                    "log_file": str(self.log_file)}
        return (json.dumps(document) + "\n").encode()


class Standby:
    """The executor's side: at most one warm pipeline process, ``take``n by a matching job."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None
        self._key: StandbyKey | None = None
        self._count = 0
        self._current = folder  # the folder of the standby (its log, its warm job's slot)

    def take(self, key: StandbyKey, hand_over: HandOver) -> tuple[subprocess.Popen[bytes], Path] | None:
        """The warm process, now running the job, and its folder (remove it once the process ended); None
        when there is none for ``key`` (a standby for another key is retired) or it died."""
        process, self._process = self._process, None
        if process is None:
            return None
        if self._key != key or process.poll() is not None:
            _retire(process, self._current)
            return None
        assert process.stdin is not None
        try:
            process.stdin.write(hand_over.line())
            process.stdin.close()
        except OSError:  # it died between poll() and the write
            _retire(process, self._current)
            return None
        return process, self._current

    def replenish(self, key: StandbyKey, env: dict[str, str]) -> None:
        """Start a standby for ``key`` with ``env`` (a job's environment without its secrets; HOME and
        TMPDIR are the standby's own) unless one is there. A failure to start is no error: the next job
        starts the usual way."""
        if self._process is not None and self._process.poll() is None and self._key == key:
            return
        self.retire()
        self._count += 1
        folder = self._current = self._folder / f"standby-{self._count}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "tmp").mkdir(parents=True)
        env = {**env, "HOME": str(folder), "TMPDIR": str(folder / "tmp")}
        try:
            with (folder / "standby.log").open("ab") as log_file:
                self._process = subprocess.Popen(
                    [sys.executable, "-P", "-m", "pipelines.standby"], cwd=folder, env=env,
                    stdin=subprocess.PIPE, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            logging.getLogger(__name__).warning("no standby pipeline process: %s", exc)
            self._process = None
            return
        self._key = key

    def retire(self) -> None:
        """Stop the standby, if any."""
        process, self._process = self._process, None
        if process is not None:
            _retire(process, self._current)


def _retire(process: subprocess.Popen[bytes], folder: Path) -> None:
    """Kill an unused standby (its warm job dies with it) and remove its folder."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    shutil.rmtree(folder, ignore_errors=True)


def warm_up(tracking_uri: str) -> None:
    """Import what a run uses and open the MLflow stores on ``tracking_uri`` (created under the store's
    lock when new, then read-only lookups)."""
    from pipelines.tracking_store import prepare_tracking_store

    prepare_tracking_store(tracking_uri)
    import pipelines.bootstrap
    import pipelines.config
    import pipelines.gates
    import pipelines.report_evidence
    import pipelines.reporting
    import pipelines.steps  # noqa: F401 - imported for its side effect: loaded before the job arrives
    from pipelines.tracking import Tracker

    tracker = Tracker(tracking_uri)
    tracker.champion_version(WARM_UP_MODEL)
    tracker.client.search_experiments(max_results=1)
    from reports import figures  # noqa: F401 - matplotlib (Agg) for the report's plots


def _warm_up_quietly(tracking_uri: str) -> None:
    try:
        warm_up(tracking_uri)
    except Exception as exc:  # the job still runs (and reports what fails): warming up is an optimisation
        print(f"standby warm-up failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def take_on(hand_over: HandOver) -> None:
    """Become the job's process: its environment (nothing of the standby's), folder and log file."""
    for name in set(os.environ) - set(hand_over.env):  # not clear(): the warm-up thread may read it
        del os.environ[name]
    os.environ.update(hand_over.env)
    tempfile.tempdir = None  # computed again from the job's TMPDIR
    os.chdir(hand_over.cwd)
    sys.stdout.flush()
    sys.stderr.flush()
    descriptor = os.open(hand_over.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


def read_hand_over(text: str) -> HandOver:
    """Parse the executor's line."""
    data = json.loads(text)
    env = data["env"]
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in env.items()):
        raise ValueError("the hand-over's env must map names to strings")
    return HandOver(Path(data["job_file"]), Path(data["cwd"]), dict(env), Path(data["log_file"]))


def main(argv: list[str] | None = None) -> int:
    """Start the warm job (``WARM_JOB_VARIABLE`` set), warm up, wait for the job (EOF: retired, exit 0),
    then run it as ``pipelines.entry`` does."""
    from pipelines import entry, termination
    from pipelines.warm_job import WARM_JOB_VARIABLE, start_held

    if (sys.argv[1:] if argv is None else argv) or "MLFLOW_TRACKING_URI" not in os.environ:
        print("usage: MLFLOW_TRACKING_URI=… python -m pipelines.standby", file=sys.stderr)
        return 2
    termination.raise_on_sigterm()
    try:
        if WARM_JOB_VARIABLE in os.environ:  # from this thread: its sandbox dies with the thread starting it
            start_held(Path.cwd() / "warm-job", os.environ[WARM_JOB_VARIABLE])
        # on a thread: a job that arrives early starts at once, and waits only for the imports it needs
        tracking_uri = os.environ["MLFLOW_TRACKING_URI"]
        threading.Thread(target=_warm_up_quietly, args=(tracking_uri,), daemon=True).start()
        ready, _, _ = select.select([sys.stdin], [], [], IDLE_SECONDS)
        line = sys.stdin.readline() if ready else ""
        if not line:  # retired, its executor gone, or unused for IDLE_SECONDS
            return 0
        hand_over = read_hand_over(line)
        take_on(hand_over)
        print(TOOK_OVER, file=sys.stderr, flush=True)
        return entry.main([str(hand_over.job_file)])
    except termination.Terminated:
        return entry.TERMINATED_EXIT


if __name__ == "__main__":
    exit_code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)  # as pipelines.entry: no interpreter teardown
