"""What a run hands its job and publishes of it, against the stand-in's real HTTP with a canned
executor: the repository's job secrets (own branches only, masked in everything published), the
time cap, and the warning of a run without isolation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.runs.pipeline import UNISOLATED_WARNING, environment_scope
from bot.store import RunState, StagingJob
from pipelines.job_process import JobPolicy
from pipelines.sandbox import Isolation
from tests.fixtures.fake_executor import errored, report_for_result
from tests.fixtures.run_world import FULL, World

SECRET = "s3cr3t-feature-store-token"


def _staging(world: World, sha: str, pr: int, **job: Any) -> Any:
    fields: dict[str, Any] = {"draft": False, "fork": False, **job}
    return world.process(world.request(StagingJob(**fields), pr, sha, "pull_request.opened"))


@pytest.fixture
def secrets(world: World, tmp_path: Path) -> Path:
    """An operator's job env dir holding the repository's secret."""
    folder = tmp_path / "job-env"
    owner, name = FULL.split("/")
    (folder / owner).mkdir(parents=True)
    (folder / owner / f"{name}.env").write_text(f"FEATURE_STORE_TOKEN={SECRET}\n")
    world.use_options(job_env_dir=folder)
    return folder


def test_the_repositorys_own_branches_get_its_job_secrets(world: World, secrets: Path) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    _staging(world, sha, pr)
    [job] = world.executor.jobs
    assert dict(job.policy.env) == {"FEATURE_STORE_TOKEN": SECRET}
    assert job.policy.isolation == Isolation.BWRAP and not job.policy.network


def test_a_forks_run_never_gets_them_even_when_approved(world: World, secrets: Path) -> None:
    world.create_repo()
    sha, pr = world.fork_pr()
    outcome, _ = _staging(world, sha, pr, fork=True, approved_sha=sha)
    assert outcome.state == RunState.SUCCEEDED
    [job] = world.executor.jobs
    assert dict(job.policy.env) == {}


def test_secrets_printed_by_the_job_are_masked_in_everything_published(world: World, secrets: Path) -> None:
    canned = errored(error=f"RuntimeError: cannot connect with {SECRET}")
    world.executor.canned = replace(canned, log_tail=[f"token={SECRET}", "Traceback ..."])
    world.executor.report = report_for_result(world.executor.canned)
    world.executor.log = f"connecting with {SECRET}\n"
    world.create_repo()
    sha, pr = world.open_pr()
    outcome, _ = _staging(world, sha, pr)
    [check] = world.checks(sha)
    published = [str(outcome.error), str(outcome.result), *world.comments(pr), str(check["output"])]
    published += [stored.content.decode(errors="replace") for stored in world.reports.store.files()]
    assert all(SECRET not in text for text in published)
    assert "***" in str(outcome.error) and any("connecting with ***" in text for text in published)


def test_the_apps_cap_bounds_the_repositorys_timeout(world: World) -> None:
    world.use_options(max_timeout_seconds=120.0)  # the repository's config asks for 300 s
    world.create_repo()
    sha, pr = world.open_pr()
    _staging(world, sha, pr)
    [job] = world.executor.jobs
    assert job.timeout_seconds == 120.0


def test_a_run_without_isolation_says_so_first_in_its_check_run(world: World) -> None:
    world.use_options(policy=JobPolicy(isolation=Isolation.NONE))
    world.create_repo()
    sha, pr = world.open_pr()
    _staging(world, sha, pr)
    [check] = world.checks(sha)
    assert check["output"]["text"].startswith(UNISOLATED_WARNING)


def test_an_isolated_run_carries_no_such_warning(world: World) -> None:
    world.create_repo()
    sha, pr = world.open_pr()
    _staging(world, sha, pr)
    [check] = world.checks(sha)
    assert "not isolated" not in str(check["output"])


@pytest.mark.parametrize(("pr", "from_fork", "scope"), [
    (7, False, "base"),  # the repository's own branches share environments
    (None, False, "base"),  # a merge's production run too
    (7, True, "fork:acme/wine#7"),  # a fork PR's are its own
    (8, True, "fork:acme/wine#8"),  # and not another fork PR's
])
def test_a_fork_prs_environment_scope_is_its_own(pr: int | None, from_fork: bool, scope: str) -> None:
    assert environment_scope("acme/wine", pr, from_fork) == scope
