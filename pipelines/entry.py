"""``python -m pipelines.entry JOB_JSON``: one pipeline run in its own process.

Reads the job (``repo_dir``, ``kind``, ``tags``, ``use_cache``, ``output_dir``, ``timeout_seconds``,
``policy``; the tracking URI from the job or ``MLFLOW_TRACKING_URI``; the repository's job secrets from
``MODELGATE_JOB_SECRETS``), runs it (the repository's code in its sandboxed job) and writes
``result.json`` atomically next to the job file, and the report into ``output_dir`` when the job
names one (for a crash too). Step events go to ``progress.jsonl`` next to the job file as the run goes.
Exit codes: 0 a result was written (whatever its status), 2 usage, 3 crash (an error result is
still written), 143 stopped by SIGTERM (a cancel or supersede: the job is stopped on the way out, a
Ray job with ``stop_job``; no result). Never logs the environment or the tracking URI (they may carry
credentials).
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from pipelines.progress import PROGRESS_FILE
from pipelines.result import PipelineResult
from pipelines.termination import Terminated, raise_on_sigterm

log = logging.getLogger("pipelines.entry")
RESULT_FILE = "result.json"
JOB_SECRETS_VARIABLE = "MODELGATE_JOB_SECRETS"  # JSON object: the values the sandboxed job gets
CRASH_EXIT = 3
TERMINATED_EXIT = 128 + signal.SIGTERM


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def run_job(job_path: Path) -> int:
    """Run the job described by ``job_path``; returns the exit code."""
    from pipelines.job_process import policy_from_document
    from pipelines.steps import run_pipeline, write_error_report

    kind, output_dir, tags = "staging", None, {}
    secrets = json.loads(os.environ.pop(JOB_SECRETS_VARIABLE, "{}") or "{}")
    try:
        job = json.loads(job_path.read_text(encoding="utf-8"))
        policy = policy_from_document(dict(job.get("policy") or {}), dict(secrets))
        kind, tags = str(job.get("kind", kind)), dict(job.get("tags") or {})
        output_dir = Path(job["output_dir"]) if job.get("output_dir") else None
        tracking_uri = job.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI")
        if not tracking_uri:
            raise ValueError("no tracking URI: set tracking_uri in the job or MLFLOW_TRACKING_URI")
        log.info("job %s: %s pipeline of %s", job.get("job_id", "?"), kind, job["repo_dir"])
        result = run_pipeline(
            Path(job["repo_dir"]), kind, tracking_uri, tags=tags,
            use_cache=bool(job.get("use_cache", True)), output_dir=output_dir, policy=policy,
            timeout_seconds=job.get("timeout_seconds"), progress=job_path.with_name(PROGRESS_FILE),
        )
        code = 0
    except Exception as exc:
        log.exception("the pipeline process crashed")
        lines = "".join(traceback.format_exception(exc)).splitlines()
        result = PipelineResult.failure(kind, "crash", f"{type(exc).__name__}: {exc}", lines)
        if output_dir is not None:
            result = write_error_report(result, output_dir, tags)
        code = CRASH_EXIT
    write_atomic(job_path.with_name(RESULT_FILE), result.to_json())
    log.info("result: %s", result.summary_line())
    return code


def process_main(argv: list[str] | None, usage: str, run: Callable[[str], int]) -> int:
    """The command line of a pipeline process: one argument for ``run``, line-buffered stdout, INFO
    logs on stderr; exit code 2 with ``usage`` otherwise."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # the user's prints reach the log even on a hard exit
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args[0])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    raise_on_sigterm()
    try:
        return process_main(argv, "python -m pipelines.entry JOB_JSON", lambda path: run_job(Path(path)))
    except Terminated:
        log.warning("the run ended after SIGTERM (cancelled or superseded)")
        return TERMINATED_EXIT


if __name__ == "__main__":
    exit_code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)  # skip interpreter teardown: ~0.5 s of module cleanup with mlflow loaded
