"""Continuous training end to end: ``serve`` on the stand-in's real HTTP, schedules read from the default
branch's ``.modelgate.yml`` (a push stores them), fires driven by the tests' clock through the worker's own
scheduler (``tick``), real production pipelines on a data feed that changes between fires, real MLflow and a
real scoring server; the dashboard issue read back from the stand-in."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.server import Services, build_services
from bot.settings import Settings
from bot.store import FireRecord, RunRecord, ScheduleStore
from bot.store.types import utc_now
from pipelines.config.schedule import next_fire
from pipelines.serving import free_port
from tests.fixtures.example_repo import predict
from tests.fixtures.registry import registry_aliases, registry_tags
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]

FEED_REPO = Path(__file__).parent / "fixtures" / "repos" / "wine-feed"
OWNER, NAME, MODEL = "acme", "wine-feed", "wine-feed"
FULL = f"{OWNER}/{NAME}"
CRON = "0 3 * * 1"  # Mondays 03:00 UTC
DASHBOARD = "<!-- modelgate:dashboard -->"
HOSTILE_TITLE = "Notes <img src=x onerror=alert(1)> @admin"
CONFIG = f"""model: {{name: {MODEL}, task: classification, train: model:train}}
data: {{staging: data:load_staging, production: data:load_production}}
metrics: [accuracy, f1_macro]
gates:
  production:
    - {{metric: accuracy, min: 0.7}}
    - {{metric: f1_macro, must_beat: 0.0}}
timeout_seconds: 300
schedule:
  - cron: "{CRON}"
    pipeline: production
"""

def feed(first_slot: datetime) -> str:
    """The data feed: few bottles until the first slot, all of them from then, mislabelled a week later."""
    days = {"2000-01-01": {"bottles": 14, "flipped": 0.0},
            first_slot.date().isoformat(): {"bottles": 124, "flipped": 0.0},
            (first_slot + timedelta(days=7)).date().isoformat(): {"bottles": 124, "flipped": 0.6}}
    return json.dumps(days)


class Continuous:
    """The App and the stand-in, seen from the tests."""

    def __init__(self, sandbox: SandboxHandle, services: Services) -> None:
        self.sandbox, self.services, self.github = sandbox, services, sandbox.client
        self.schedules = ScheduleStore(services.engine)

    def create(self, extra: str = "") -> datetime:
        """The repository, its schedule stored from the default branch's push; the first slot."""
        slot = next_fire(CRON, utc_now())
        files = {".modelgate.yml": CONFIG + extra, "feed.json": feed(slot)}
        self.github.create_repo(OWNER, NAME, path=FEED_REPO, files=files)
        self.github.set_protection(OWNER, NAME, [])
        self.wait_until(lambda: self.schedules.of(FULL), "the schedule was not stored")
        assert [(s.cron, s.next_fire_at) for s in self.schedules.of(FULL)] == [(CRON, slot)]
        return slot

    def wait_until(self, ready: Any, what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = ready()
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(what)

    def tick(self, at: datetime) -> list[FireRecord]:
        scheduler = self.services.scheduler
        assert scheduler is not None
        return scheduler.tick(at)

    def scheduled(self, count: int) -> list[RunRecord]:
        return wait_for_runs(self.services, lambda r: r.kind == "scheduled", count, timeout=240)

    def state(self) -> dict[str, Any]:
        return self.github.state()

    def checks(self, name: str = "modelgate / scheduled") -> list[dict[str, Any]]:
        return [c for c in self.state()["check_runs"] if c["name"] == name]

    def dashboards(self) -> list[dict[str, Any]]:
        return [i for i in self.state()["issues"] if DASHBOARD in (i.get("body") or "")]

    def dashboard(self) -> dict[str, Any]:
        [issue] = self.dashboards()  # created once, never duplicated
        return issue

    def aliases(self) -> dict[str, int]:
        return registry_aliases(str(self.services.settings.mlflow_tracking_uri), MODEL)

    def version_tags(self, version: int) -> dict[str, str]:
        return registry_tags(str(self.services.settings.mlflow_tracking_uri), MODEL, version)


def settings(**more: Any) -> dict[str, Any]:
    return {"schedule_seconds": 3600.0, **more}  # the tests' clock fires schedules, not the wall's


@pytest.fixture
def continuous(sandbox: SandboxHandle, tmp_path: Path) -> Iterator[Continuous]:
    serve_port = free_port()
    with running_app(sandbox, tmp_path, **settings(serve_ports=str(serve_port))) as services:
        app = Continuous(sandbox, services)
        app.serve_port = serve_port  # type: ignore[attr-defined]
        yield app


def test_fires_promote_fresh_data_reject_a_worse_feed_and_keep_one_dashboard(continuous: Continuous) -> None:
    port = continuous.serve_port  # type: ignore[attr-defined]
    slot = continuous.create(f"deploy: {{kind: mlflow-serve, port: {port}}}\n")
    continuous.github.set_permission(OWNER, NAME, "ada", "write")
    continuous.github.commit(OWNER, NAME, {"NOTES.md": "notes\n"}, branch="notes", author="ada")
    pull = continuous.github.open_pull(OWNER, NAME, "notes", author="ada", title=HOSTILE_TITLE)
    wait_for_runs(continuous.services, lambda r: r.kind == "staging")
    shown = f"| #{pull['number']} Notes &lt;img src=x onerror=alert\\(1\\)&gt; &#64;admin | passed: "
    assert shown in continuous.dashboard()["body"]  # its staging verdict on its head, at once
    assert continuous.tick(slot - timedelta(minutes=1)) == []  # not yet

    [fired] = continuous.tick(slot)  # Monday 03:00: the feed has grown
    [run] = continuous.scheduled(1)
    assert (fired.run_id, run.trigger, run.state) == (run.id, "schedule", "succeeded")
    assert run.result is not None and run.result["production"]["state"] == "promoted"
    assert run.result["champion_version"] is None and run.result["production"]["version"] == 1
    sha = run.result["sha"]
    [pushed] = continuous.services.runs.list_runs(FULL, kind="production")
    assert pushed.head_sha == sha  # the default branch's head, as GitHub says
    [check] = continuous.checks()
    assert (check["head_sha"], check["conclusion"], check["output"]["title"]) == (sha, "success",
                                                                                   "Promoted as version 1")
    tags = continuous.version_tags(1)
    assert (tags["modelgate.scheduled"], tags["modelgate.trigger"]) == (f"scheduled:{run.id}", "schedule")
    assert tags["modelgate.merge_sha"] == sha
    assert predict(port) in ([0], [1], [2])
    first = continuous.dashboard()
    assert f"`{MODEL}` version **1** serving at http://127.0.0.1:{port}/invocations" in first["body"]
    assert f"Next scheduled run: **{slot + timedelta(days=7):%Y-%m-%d %H:%M} UTC**" in first["body"]
    assert "promoted as version 1" in first["body"] and "- [ ] Retrain now" in first["body"]
    assert shown in first["body"]
    assert "<img" not in first["body"] and "@admin" not in first["body"]  # the title shows as text

    later = slot + timedelta(days=21, hours=2)  # down for three weeks: the missed Mondays fire once
    [fired] = continuous.tick(later)
    assert continuous.tick(later + timedelta(minutes=1)) == []
    _, worse = continuous.scheduled(2)
    assert fired.run_id == worse.id and worse.job.fire_at == slot + timedelta(days=21)  # type: ignore[union-attr]
    assert worse.result is not None and worse.result["production"]["state"] == "rejected"
    assert worse.result["champion_version"] == 1  # judged against the champion on the same rows
    assert continuous.aliases() == {"champion": 1}
    assert [c["conclusion"] for c in continuous.checks()] == ["success", "failure"]
    assert [s.next_fire_at for s in continuous.schedules.of(FULL)] == [slot + timedelta(days=28)]
    deployments = continuous.state()["deployments"]
    assert [d["payload"]["version"] for d in deployments] == [1]  # exactly once per fire
    assert predict(port) in ([0], [1], [2])  # the champion keeps serving
    updated = continuous.dashboard()
    assert updated["number"] == first["number"]
    assert "version **1**" in updated["body"]
    assert re.search(r"\| rejected \| accuracy -0\.\d{4}, f1\\_macro -0\.\d{4}", updated["body"])  # deltas
    assert f"{slot + timedelta(days=28):%Y-%m-%d %H:%M} UTC" in updated["body"]
    found = re.search(r"!\[Metric history of the promoted versions\]\((\S+)\)", updated["body"])
    assert found is not None
    continuous.services.reports.prune(now=time.time() + 400 * 86_400)  # long past the report retention
    plot = found.group(1)
    assert httpx.get(plot, trust_env=False).status_code == 200  # the dashboard's plot stays
    rest = plot.replace("history.png", "log.txt")
    assert httpx.get(rest, trust_env=False).status_code == 404  # the rest of its report went


def test_ticking_retrain_now_runs_once_for_a_writer_and_never_for_a_reader(continuous: Continuous) -> None:
    continuous.create()
    dashboard = continuous.wait_until(continuous.dashboards, "no dashboard after the first push")[0]
    assert "- [ ] Retrain now" in dashboard["body"]
    ticked = dashboard["body"].replace("- [ ] Retrain now", "- [x] Retrain now")
    continuous.github.set_permission(OWNER, NAME, "reader", "read")
    continuous.github.edit_issue(OWNER, NAME, dashboard["number"], ticked, author="reader")
    [refused] = continuous.scheduled(1)
    assert refused.state == "cancelled" and "without write access" in (refused.error or "")
    assert continuous.dashboard()["body"] == dashboard["body"]  # unticked by the App, nothing trained
    assert continuous.checks() == []

    continuous.github.set_permission(OWNER, NAME, "maintainer", "write")
    before = len(continuous.github.state("requests")["requests"])
    continuous.github.edit_issue(OWNER, NAME, dashboard["number"], ticked, author="maintainer")
    _, run = continuous.scheduled(2)
    assert (run.trigger, run.state) == ("issues.edited", "succeeded")
    calls = [r["operationId"] for r in continuous.github.state("requests")["requests"][before:]]
    assert calls.index("issues/update") < calls.index("checks/create")  # unticked before it trained
    assert run.result is not None and run.result["production"]["state"] == "promoted"
    assert continuous.aliases() == {"champion": 1}
    after = continuous.wait_until(lambda: [d for d in continuous.dashboards() if "promoted" in d["body"]],
                                  "the dashboard did not show the outcome")[0]
    assert after["number"] == dashboard["number"] and "- [ ] Retrain now" in after["body"]  # unticked
    time.sleep(1)  # the bot's own edits (issues.edited by the bot) queue nothing
    assert len(continuous.services.runs.list_runs(FULL, kind="scheduled")) == 2
    assert len(continuous.dashboards()) == 1


def test_installing_reads_the_schedules_and_uninstalling_drops_them(continuous: Continuous) -> None:
    slot, github, other = next_fire(CRON, utc_now()), continuous.github, f"{OWNER}/other"
    for name, config in ((NAME, CONFIG), ("other", CONFIG + "dashboard: false\n"),
                         ("broken", CONFIG.replace(CRON, "61 3 * * 1"))):
        files = {".modelgate.yml": config, "feed.json": feed(slot)}
        github.create_repo(OWNER, name, path=FEED_REPO, files=files, push=False)  # there before the App
    github.create_repo(OWNER, "plain", files={"README.md": "no modelgate here\n"}, push=False)
    github.install()  # installation.created lists the four: their schedules now, not at their next push
    [installed] = wait_for_runs(continuous.services, lambda r: r.kind == "install")
    assert installed.state == "succeeded" and installed.result is not None
    assert installed.result["schedules"] == {FULL: 1, other: 1, f"{OWNER}/broken": 0, f"{OWNER}/plain": 0}
    assert [s.next_fire_at for s in continuous.schedules.of(FULL)] == [slot]
    [dashboard] = continuous.dashboards()  # the other repository's is off
    assert dashboard["repo"] in (FULL, FULL.lower())
    assert f"Next scheduled run: **{slot:%Y-%m-%d %H:%M} UTC**" in dashboard["body"]
    assert continuous.services.runs.list_runs(kind="production") == []  # nothing was pushed or trained

    github.remove_repositories([FULL])
    continuous.wait_until(lambda: not continuous.schedules.of(FULL), "the removed repository kept one")
    assert continuous.schedules.of(other) != []
    github.add_repositories([FULL])
    continuous.wait_until(lambda: continuous.schedules.of(FULL), "the added repository got none")
    github.uninstall()
    continuous.wait_until(lambda: not continuous.schedules.of(other), "uninstalling kept one")
    assert continuous.schedules.of(FULL) == []
    assert continuous.tick(slot + timedelta(days=1)) == []
    assert continuous.services.runs.list_runs(kind="scheduled") == []
    assert len(continuous.dashboards()) == 1  # re-added: the same dashboard


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_replicas_on_postgresql_fire_once(sandbox: SandboxHandle, tmp_path: Path, db_url: str) -> None:
    with running_app(sandbox, tmp_path / "a", **settings(database_url=db_url)) as services:
        app = Continuous(sandbox, services)
        slot = app.create()
        other = build_services(Settings(data_dir=tmp_path / "b", database_url=db_url, workers=1,
                                        app_id=sandbox.app_id, private_key=sandbox.private_key_pem,
                                        webhook_secret=sandbox.webhook_secret, github_api_url=sandbox.url,
                                        schedule_seconds=3600.0))
        try:
            replicas = [services.scheduler, other.scheduler]
            won: list[FireRecord] = []
            for at in (slot, slot + timedelta(seconds=30), slot + timedelta(minutes=5)):
                start = threading.Barrier(len(replicas))

                def tick(scheduler: Any, at: datetime = at, start: threading.Barrier = start) -> None:
                    start.wait()
                    won.extend(scheduler.tick(at))

                threads = [threading.Thread(target=tick, args=(r,)) for r in replicas]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            assert len(won) == 1 and len(app.schedules.fires(FULL)) == 1
            [run] = app.scheduled(1)
            assert run.state == "succeeded" and len(app.checks()) == 1
        finally:
            other.engine.dispose()
