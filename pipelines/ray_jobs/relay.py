"""``python -P -m pipelines.ray_jobs.relay RELAY_JSON``: a Ray job's entrypoint on the node.

The job (``pipelines.job``) writes into local folders and reads its answer from a local file, as it does
in its sandbox. The relay, its parent, carries files between those folders and the submission's folder
on the shared storage (a path or an fsspec URL, with the node's own credentials): the fingerprint up as
soon as it is written, the answer (and the champion's files) down when the trusted side gives them,
and everything in ``out/`` up when the job ends. It exits with the job's exit code.

With a prebuilt environment (``MODELGATE_RAY_ENVIRONMENTS=prebuilt``) the job runs that environment's
interpreter, and only when its folders are on a read-only mount: a job that could write into an
environment could poison every later run using it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from pipelines.entry import process_main, write_atomic
from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.ray_jobs.storage import SubmissionStorage, download_tree, upload_tree

POLL_SECONDS = 0.1
STOPPED_EXIT = 128 + int(signal.SIGTERM)


@dataclass(frozen=True)
class RelaySpec:
    """What the relay is told: the submission's folder, the job (its folders are replaced by local
    ones), and a prebuilt environment's interpreter with the folders that must be read-only."""

    storage: str
    job: JobSpec
    python: str | None = None
    read_only: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        """The spec as one JSON line."""
        return json.dumps({"storage": self.storage, "job": json.loads(self.job.to_json()),
                           "python": self.python, "read_only": list(self.read_only)})

    @classmethod
    def from_json(cls, text: str) -> RelaySpec:
        """Rebuild from ``to_json()``."""
        data = json.loads(text)
        return cls(str(data["storage"]), JobSpec.from_json(json.dumps(data["job"])), data.get("python"),
                   tuple(str(folder) for folder in data.get("read_only") or ()))


def mounted_read_only(folder: str) -> bool:
    """Whether ``folder`` is on a read-only mount (nothing on this node can change it)."""
    return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)


def relay(spec: RelaySpec, poll_seconds: float = POLL_SECONDS) -> int:
    """Run the job and carry its files; the job's exit code (1 with ``error.json`` when it cannot run)."""
    storage = SubmissionStorage(spec.storage)
    with tempfile.TemporaryDirectory(prefix="modelgate-job-") as scratch:
        local = Path(scratch)
        out, champion, answer = local / "out", local / "champion", local / "answer"
        out.mkdir()
        champion.mkdir()
        try:
            writable = [folder for folder in spec.read_only if not mounted_read_only(folder)]
            if writable:
                _refuse(out, f"the prebuilt environment {', '.join(writable)} is writable on this node: "
                             "mount the environment cache read-only on the Ray nodes")
                return 1
            job = replace(spec.job, output_dir=out, answer_file=str(answer),
                          champion_dir=None if spec.job.champion_dir is None else champion)
            command = [spec.python or sys.executable, "-P", "-m", "pipelines.job", job.to_json()]
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
            _stop_with(process)
            _carry(storage, process, job, answer, poll_seconds)
            code = process.wait()
            return code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it
        finally:
            upload_tree(storage.fs, out, storage.out)


def _carry(
    storage: SubmissionStorage, process: subprocess.Popen[bytes], job: JobSpec, answer: Path,
    poll_seconds: float,
) -> None:
    """Until the job ends: its fingerprint up, then the answer (with the champion's files) down."""
    sent = answered = False
    while process.poll() is None:
        if not sent and (job.output_dir / files.FINGERPRINT_FILE).is_file():
            storage.fs.put_file(str(job.output_dir / files.FINGERPRINT_FILE),
                                f"{storage.out}/{files.FINGERPRINT_FILE}")
            sent = True
        if sent and not answered:
            try:
                line = storage.fs.cat_file(storage.answer).decode("utf-8", "replace")[:200]
            except FileNotFoundError:
                line = None
            if line is not None:
                go_on, version = files.parse_answer(line)
                if go_on and version is not None and job.champion_dir is not None:
                    download_tree(storage.fs, storage.champion, job.champion_dir)
                write_atomic(answer, line)
                answered = True
        time.sleep(poll_seconds)


def _stop_with(process: subprocess.Popen[bytes]) -> None:
    """On SIGTERM (Ray's ``stop_job``), stop the job too, then end (outputs are still uploaded)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        process.terminate()
        raise SystemExit(STOPPED_EXIT)

    signal.signal(signal.SIGTERM, stop)


def _refuse(out: Path, message: str) -> None:
    print(f"modelgate relay: {message}", file=sys.stderr, flush=True)
    files.write_json(out, files.ERROR_FILE, files.JobError(error_kind="crash", error=message))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return process_main(argv, "python -P -m pipelines.ray_jobs.relay RELAY_JSON",
                        lambda spec: relay(RelaySpec.from_json(spec)))


if __name__ == "__main__":
    sys.exit(main())
