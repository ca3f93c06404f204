"""The install run over the stand-in's real HTTP and the real store (SQLite and PostgreSQL): each repository's
schedules come from its default branch's ``.modelgate.yml``; one without a configuration or with a broken
one gets none and a log line, one GitHub does not know is named in the run's error after the others; with
no list, the installation's repositories are asked for; dashboards are written through the installation's
content limiter."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine

from bot.dashboard.keeper import Dashboard
from bot.github import GitHubApp
from bot.runs.install import InstallRun
from bot.runs.outcome import RunOutcome
from bot.store import InstallJob, JobRequest, RunState, RunStore, ScheduleStore
from tests.fixtures.clocks import FakeClock
from tests.fixtures.config_cases import EXAMPLE
from tests.fixtures.standin import SandboxHandle

SCHEDULED = EXAMPLE + "schedule:\n  - cron: '0 3 * * 1'\n"
BROKEN = EXAMPLE + "schedule:\n  - cron: '61 3 * * 1'\n"
DASHBOARD = "<!-- modelgate:dashboard -->"


def handled(engine: Engine, handler: InstallRun, job: InstallJob) -> RunOutcome:
    """Queue an install run, claim it as a worker does, handle and finish it; its outcome."""
    runs = RunStore(engine)
    runs.enqueue(JobRequest("acme/*", job.installation_id, None, None, "installation.created", job))
    run = runs.claim("test-worker")
    assert run is not None and run.kind == "install"
    outcome = handler(run)
    runs.finish(run.id, outcome.state, result=outcome.result, error=outcome.error)
    return outcome


def install_run(engine: Engine, github: GitHubApp) -> InstallRun:
    return InstallRun(github, ScheduleStore(engine), Dashboard.on(engine))


def dashboards(sandbox: SandboxHandle) -> list[str]:
    issues = sandbox.client.state("issues")["issues"]
    return sorted(i["repo"] for i in issues if DASHBOARD in (i["body"] or ""))


def test_each_repository_gets_its_default_branchs_schedules(
        sandbox: SandboxHandle, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    for name, files in {"wine": {".modelgate.yml": SCHEDULED}, "plain": {"README.md": "hi\n"},
                        "broken": {".modelgate.yml": BROKEN}}.items():
        sandbox.client.create_repo("acme", name, files=files, push=False)
    sandbox.client.create_repo("acme", "quiet", files={".modelgate.yml": SCHEDULED + "dashboard: false\n"},
                               default_branch="trunk", push=False)
    sandbox.client.commit("acme", "plain", {".modelgate.yml": SCHEDULED}, branch="feature")  # not the default
    github = GitHubApp(sandbox.app_id, sandbox.private_key_pem, sandbox.url)
    handler, store = install_run(engine, github), ScheduleStore(engine)
    store.replace("acme/plain", 1, [])  # nothing before

    listed = ("acme/wine", "acme/plain", "acme/broken", "acme/gone")
    with caplog.at_level(logging.INFO, logger="bot.runs.install"):
        outcome = handled(engine, handler, InstallJob(installation_id=sandbox.installation_id,
                                                      repositories=listed))
    assert outcome.state == RunState.FAILED
    assert outcome.error == "could not read the configuration of acme/gone"
    assert outcome.result is not None
    assert outcome.result["schedules"] == {"acme/wine": 1, "acme/plain": 0, "acme/broken": 0}
    assert [(s.cron, s.installation_id) for s in store.of("acme/wine")] == [("0 3 * * 1",
                                                                             sandbox.installation_id)]
    assert store.of("acme/plain") == store.of("acme/broken") == []
    lines = caplog.messages
    assert any("acme/plain: no .modelgate.yml on its default branch main: no schedules" in m for m in lines)
    assert any("acme/broken: invalid .modelgate.yml on its default branch main: .modelgate.yml: "
               "schedule[0].cron: not a valid cron expression" in m for m in lines)
    assert any("acme/gone: schedules not read: RequestFailed" in m for m in lines)
    assert dashboards(sandbox) == ["acme/wine"]

    # unsuspended (no list in the event): the installation's repositories, as GitHub lists them
    outcome = handled(engine, handler, InstallJob(installation_id=sandbox.installation_id))
    assert outcome.state == RunState.SUCCEEDED and outcome.result is not None
    assert outcome.result["schedules"] == {"acme/broken": 0, "acme/plain": 0, "acme/quiet": 1, "acme/wine": 1}
    assert dashboards(sandbox) == ["acme/wine"]  # still one; the quiet one's is off


def test_a_large_installation_writes_through_the_installations_limiter(
        sandbox: SandboxHandle, engine: Engine) -> None:
    names = [f"model-{n}" for n in range(4)]
    for name in names:
        sandbox.client.create_repo("acme", name, files={".modelgate.yml": SCHEDULED}, push=False)
    clock = FakeClock(1000.0)
    github = GitHubApp(sandbox.app_id, sandbox.private_key_pem, sandbox.url, content_limits=[(2, 60.0)],
                       clock=clock, sleep=clock.sleep)
    job = InstallJob(installation_id=sandbox.installation_id, repositories=tuple(f"acme/{n}" for n in names))
    outcome = handled(engine, install_run(engine, github), job)
    assert outcome.state == RunState.SUCCEEDED and len(dashboards(sandbox)) == 4
    limiter = github.limiter(sandbox.installation_id)
    assert limiter.waits == 1 and clock.now >= 1060.0  # the third and fourth issues waited for the window
