"""The dashboard keeper over the stand-in's real HTTP and the real store (SQLite and PostgreSQL): replicas
refreshing one repository's dashboard at once open one issue; a staging verdict not stored yet shows; the
history plot it shows is pinned against report retention; ``dashboard: false`` closes it and turning it back
on reopens it; the "retrain now" box is unticked."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from bot.dashboard.keeper import Dashboard
from bot.dashboard.render import render_off
from bot.dashboard.untick import untick
from bot.feedback.report_files import PNG_SIGNATURE, ReportFiles
from bot.github import GitHubApp, Repo
from bot.store import (
    DashboardStore,
    JobRequest,
    ProductionJob,
    ReportFileStore,
    RunRecord,
    RunStore,
    StagingJob,
)
from pipelines.config import parse_config
from tests.fixtures.config_cases import EXAMPLE
from tests.fixtures.db import make_engine_for
from tests.fixtures.standin import SandboxHandle

DASHBOARD = "<!-- modelgate:dashboard -->"
CONFIG = parse_config(EXAMPLE)


def keeper(engine: Engine) -> Dashboard:
    """A replica's dashboard keeper on ``engine``."""
    return Dashboard.on(engine)


def listed(sandbox: SandboxHandle) -> int:
    """How many times the App listed a repository's issues (searching for the marker)."""
    requests = sandbox.client.state("requests")["requests"]
    return sum(1 for r in requests if r["operationId"] == "issues/list-for-repo")


def running(engine: Engine, repository: str, kind: str = "staging", pr: int | None = None,
            sha: str | None = None) -> RunRecord:
    """A run of ``repository`` as a worker holds it (a dashboard refresh holds its lock for a run)."""
    job = StagingJob() if kind == "staging" else ProductionJob()
    RunStore(engine).enqueue(JobRequest(repository, 1, pr, sha, "test", job))
    run = RunStore(engine).claim(f"worker-{repository}-{pr}-{kind}")
    assert run is not None
    return run


def issues(sandbox: SandboxHandle, repository: str) -> list[dict]:
    return [i for i in sandbox.client.state("issues")["issues"]
            if i["repo"] == repository and DASHBOARD in (i["body"] or "")]


def test_replicas_refreshing_at_once_open_one_dashboard(sandbox: SandboxHandle, engine: Engine,
                                                        db_url: str) -> None:
    replicas = [keeper(engine), keeper(make_engine_for(db_url))]
    github = GitHubApp(sandbox.app_id, sandbox.private_key_pem, sandbox.url)
    names = [f"model-{n}" for n in range(3)]
    for name in names:
        sandbox.client.create_repo("acme", name, files={"README.md": "hi\n"}, push=False)
    for name in names:  # a production run and a staging run of each repository refresh together
        full = f"acme/{name}"
        runs = [running(engine, full, "production", sha="a" * 40), running(engine, full, pr=1, sha="b" * 40)]
        start = threading.Barrier(2)
        numbers: list[int | None] = []

        def refresh(replica: Dashboard, run: RunRecord, repository: str = full,
                    start: threading.Barrier = start, numbers: list[int | None] = numbers) -> None:
            api = github.for_repository(repository, sandbox.installation_id)
            start.wait()
            numbers.append(replica.refresh(api, Repo.parse(repository), CONFIG, run))

        pairs = zip(replicas, runs, strict=True)
        threads = [threading.Thread(target=refresh, args=pair) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        [issue] = issues(sandbox, full)
        assert numbers == [issue["number"]] * 2


def test_what_the_dashboard_shows_and_keeps(sandbox: SandboxHandle, engine: Engine, tmp_path: Path) -> None:
    created = sandbox.client.create_repo("acme", "wine", files={"README.md": "hi\n"}, push=False)
    sandbox.client.commit("acme", "wine", {"notes.md": "notes\n"}, branch="notes")
    pull = sandbox.client.open_pull("acme", "wine", "notes", title="Notes")
    head = pull["pull_request"]["head"]["sha"]
    github = GitHubApp(sandbox.app_id, sandbox.private_key_pem, sandbox.url)
    api, repo, dashboard = github.for_repository("acme/wine", None), Repo("acme", "wine"), keeper(engine)

    staging = running(engine, "acme/wine", pr=pull["number"], sha=head)  # its verdict, not stored yet
    verdict = replace(staging, result={"sha": head, "verdict": "passed", "summary": "accuracy 0.97"})
    number = dashboard.refresh(api, repo, CONFIG, verdict)
    [issue] = issues(sandbox, "acme/wine")
    assert issue["number"] == number
    assert f"| #{pull['number']} Notes | passed: accuracy 0\\.97 |" in issue["body"]
    RunStore(engine).finish(staging.id, "succeeded", result=verdict.result)

    (tmp_path / "history.png").write_bytes(PNG_SIGNATURE + b"plot")
    published = ReportFiles(engine, "https://mg.example.com").publish([tmp_path / "history.png"])
    production = running(engine, "acme/wine", "production", sha=created["sha"])
    plot = published.url("history.png")
    promoted = replace(production, result={"sha": created["sha"], "history_plot": plot,
                                           "production": {"state": "promoted", "version": 1}})
    searched = listed(sandbox)
    assert dashboard.refresh(api, repo, CONFIG, promoted) == number
    assert listed(sandbox) == searched  # the remembered issue is read, not searched for again
    assert f"]({plot})" in issues(sandbox, "acme/wine")[0]["body"]
    assert ReportFileStore(engine).pinned() == {"dashboard:acme/wine": (published.token, "history.png")}

    off = parse_config(EXAMPLE + "dashboard: false\n")
    assert dashboard.refresh(api, repo, off, promoted) is None
    [closed] = issues(sandbox, "acme/wine")
    assert (closed["state"], closed["body"]) == ("closed", render_off())
    assert "Retrain now" not in closed["body"]
    assert ReportFileStore(engine).pinned() == {}  # nothing shown, nothing kept
    assert dashboard.refresh(api, repo, CONFIG, promoted) == number  # back on: the same issue, reopened
    [reopened] = issues(sandbox, "acme/wine")
    assert reopened["state"] == "open" and "- [ ] Retrain now" in reopened["body"]

    ticked = reopened["body"].replace("- [ ] Retrain now", "- [x] Retrain now")
    sandbox.client.edit_issue("acme", "wine", number, ticked, author="maintainer")
    assert untick(api, repo, number) is True
    assert issues(sandbox, "acme/wine")[0]["body"] == reopened["body"]
    assert untick(api, repo, number) is False  # nothing to untick: no edit
    person = sandbox.client.create_issue("acme", "wine", "copy", body=ticked, author="maintainer")
    assert untick(api, repo, person["number"]) is False  # not the App's issue

    DashboardStore(engine).remember("acme/wine", person["number"])  # wrong: a person's issue
    assert dashboard.refresh(api, repo, CONFIG, promoted) == number  # found again by its marker
    assert DashboardStore(engine).issue("ACME/Wine") == number
