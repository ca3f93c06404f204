"""The champion, evaluated in the packages it was saved with.

A champion whose recorded requirements differ from the candidate's environment (a PR upgrading
LightGBM, a repository that declared its first requirements) is not unpickled in the candidate's job:
a job of role "champion" runs in the champion's own environment, rebuilt from its pins, and predicts
the evaluation rows. Its predictions (plain arrays) replace the model files in the folder the
candidate's job reads, so that job unpickles nothing and computes every metric, interval and slice
exactly as for an unpickled champion.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from pipelines.checkout import StepError
from pipelines.job import files
from pipelines.job.run import JobSpec
from pipelines.job_process import JobPolicy, JobProcess
from pipelines.runtimes import JobRuntime, read_recorded, recorded_runtime

log = logging.getLogger(__name__)


def champion_in_own_runtime(
    repo_dir: Path, kind: str, champion_dir: Path, runtime: JobRuntime, policy: JobPolicy, scratch: Path,
    timeout_seconds: float,
) -> tuple[bool, str | None]:
    """(usable, why not): leaves ``champion_dir`` as it is when the champion loads in ``runtime``;
    otherwise replaces its model files by the predictions of a champion job in its own environment."""
    pins, python = read_recorded(champion_dir)
    if not pins or runtime.same_packages(pins):
        return True, None
    log.info("champion: saved with other packages than this run's; predicting in its own environment")
    output = scratch / "champion-predictions"
    work = scratch / "champion-job"
    output.mkdir()
    work.mkdir()
    try:
        with recorded_runtime(pins, python, policy, "the champion's recorded requirements") as own:
            log.info("champion environment: %s", own.description)
            job = JobProcess(JobSpec(repo_dir, kind, output, champion_dir, role="champion"), policy, work,
                             timeout_seconds, own.python, own.folders)
            job.start()
            try:
                job.answer(go_on=True)  # the champion role reads no answer; closes its stdin
                job.wait()
            finally:
                job.kill()
    except StepError as exc:
        return False, _reason(f"its environment could not be rebuilt: {exc.message}")
    error = files.read_json(output, files.ERROR_FILE, files.JobError)
    if error is not None:
        return False, _reason(f"its job failed ({error.error_kind}): {error.error}")
    try:
        files.read_champion_predictions(output)
    except files.JobOutputError as exc:
        return False, _reason(str(exc))
    for entry in champion_dir.iterdir():  # the candidate's job sees the predictions, not the pickle
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for name in (files.PREDICTIONS_ARRAYS_FILE, files.PREDICTIONS_FILE):  # the .json last: it says "complete"
        shutil.copyfile(output / name, champion_dir / name)
    return True, None


def _reason(problem: str) -> str:
    reason = f"the champion could not be evaluated in its own environment: {problem}"
    log.warning("%s; judging by absolute gates alone", reason)
    return " ".join(reason.split())[:2000]
