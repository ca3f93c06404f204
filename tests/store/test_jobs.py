"""The typed run contracts: what each kind of run carries, stored and read back, old rows included."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.store import CommandJob, CommandLine, Job, ProductionJob, RollbackJob, StagingJob, load_job
from bot.store.jobs import dump_job

SHA = "a" * 40


@pytest.mark.parametrize(
    "job",
    [
        StagingJob(),
        StagingJob(draft=True, fork=False, force=True, approved_sha=SHA, approved_by="mona", comment_id=7,
                   author="mona"),
        ProductionJob(),
        CommandJob(comment_id=9, author="octocat",
                   commands=(CommandLine(name="retrain", args=("--force",), line="/retrain --force"),
                             CommandLine(name="rollback", args=("2",), line='/rollback "2',
                                         error="no closing quotation"))),
        RollbackJob(model="wine", to_version=3, actor="mona", reply_to=4),
    ],
)
def test_every_job_survives_the_details_column(job: Job) -> None:
    stored = dump_job(job)
    assert "kind" not in stored  # the runs.kind column says which model reads it
    assert load_job(job.kind, stored) == job


@pytest.mark.parametrize(
    ("kind", "old_details", "expected"),
    [
        # staging rows of earlier versions: loose dicts, a production re-run carried an approval
        ("staging", {"draft": False, "fork": True}, StagingJob(draft=False, fork=True)),
        ("staging", {}, StagingJob()),
        ("staging", None, StagingJob()),
        ("production", {"approved_sha": SHA, "approved_by": "mona"}, ProductionJob()),
        ("command",
         {"comment_id": 5, "author": "x", "commands": [{"name": "help", "args": [], "line": "/modelgate"}]},
         CommandJob(comment_id=5, author="x", commands=(CommandLine(name="help", line="/modelgate"),))),
        ("rollback", {"model": "wine", "to_version": None, "actor": "cli", "reply_to": None},
         RollbackJob(model="wine", actor="cli")),
    ],
)
def test_rows_written_by_older_versions_still_load(
    kind: str, old_details: dict[str, Any] | None, expected: Job
) -> None:
    assert load_job(kind, old_details) == expected


def test_a_job_of_an_unknown_kind_or_missing_fields_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_job("deploy", {})
    with pytest.raises(ValidationError):
        load_job("rollback", {})  # which model?


@pytest.mark.parametrize(
    ("queued", "newer", "expected"),
    [
        (StagingJob(draft=False, fork=True), StagingJob(approved_sha=SHA, approved_by="m", force=True),
         StagingJob(draft=False, fork=True, approved_sha=SHA, approved_by="m", force=True)),
        (StagingJob(approved_sha=SHA, approved_by="m"), StagingJob(draft=True, fork=True),
         StagingJob(draft=True, fork=True, approved_sha=SHA, approved_by="m")),
        (StagingJob(force=True), StagingJob(), StagingJob(force=True)),
        (StagingJob(comment_id=1, author="a"), StagingJob(comment_id=2, author="b"),
         StagingJob(comment_id=2, author="b")),
        (StagingJob(approved_sha="b" * 40, approved_by="old"),
         StagingJob(approved_sha=SHA, approved_by="new"),
         StagingJob(approved_sha=SHA, approved_by="new")),
    ],
)
def test_a_later_request_for_a_queued_commit_folds_in(queued: StagingJob, newer: StagingJob,
                                                     expected: StagingJob) -> None:
    assert queued.joined(newer) == expected


def test_jobs_are_frozen() -> None:
    job = StagingJob()
    with pytest.raises(ValidationError):
        job.force = True  # type: ignore[misc]
