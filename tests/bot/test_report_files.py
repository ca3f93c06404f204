"""Published report files over real HTTP: unguessable tokens, cache and security headers, 404s,
retention, and what a job's output directory cannot make the App publish or overwrite. The files
live in the job store (SQLite and PostgreSQL): a second ``ReportFiles`` on the same database, as
another replica has, serves what the first published."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.feedback.published_report import ReportPublisher
from bot.feedback.report_files import PNG_SIGNATURE, SECURITY_HEADERS, ReportFiles, published_file
from bot.store import RunStore
from github_standin.serving import serve
from tests.fixtures.clocks import FakeClock
from tests.fixtures.db import make_engine_for
from tests.fixtures.report_cases import make_report

PNG = PNG_SIGNATURE + b"\x00\x00\x00\rIHDR fake rest"


def test_files_are_served_under_a_random_token_with_long_cache(
    tmp_path: Path, engine: Engine, db_url: str
) -> None:
    source = tmp_path / "out"
    source.mkdir()
    (source / "roc.png").write_bytes(PNG)
    (source / "log.txt").write_text("step 1\n")
    (source / "secret.py").write_text("not published")
    files = ReportFiles(engine, "https://mg.example.com/")
    published = files.publish(sorted(source.iterdir()))
    assert len(published.token) == 32 and int(published.token, 16) >= 0
    assert published.files == ("log.txt", "roc.png")
    assert published.url("roc.png") == f"https://mg.example.com/reports/{published.token}/roc.png"
    assert files.publish([source / "roc.png"]).token != published.token
    other_replica = ReportFiles(make_engine_for(db_url), "https://mg.example.com/")
    with serve(Starlette(routes=[other_replica.route()])) as url:
        png = httpx.get(f"{url}/reports/{published.token}/roc.png")
        assert (png.status_code, png.content) == (200, PNG)
        assert png.headers["content-type"] == "image/png"
        cache = png.headers["cache-control"]
        assert "immutable" in cache and "max-age=31536000" in cache
        assert httpx.get(f"{url}/reports/{published.token}/log.txt").text == "step 1\n"
        for bad in [f"{'0' * 32}/roc.png", f"{published.token}/secret.py", f"{published.token}/nope.png",
                    f"{published.token}/..%2Froc.png", "not-a-token/roc.png"]:
            assert httpx.get(f"{url}/reports/{bad}").status_code == 404, bad


def test_old_reports_are_pruned(tmp_path: Path, engine: Engine) -> None:
    clock = FakeClock(time.time())
    files = ReportFiles(engine, None, retention_days=1, clock=clock)
    (tmp_path / "a.png").write_bytes(PNG)
    (tmp_path / "log.txt").write_text("old log\n")
    old = files.publish([tmp_path / "a.png", tmp_path / "log.txt"])
    clock.sleep(2 * 86_400)
    assert files.prune() == 1
    assert files.store.files(old.token) == []
    new = files.publish([tmp_path / "a.png"])  # pruned a moment ago: publishing does not sweep again
    assert files.store.get(new.token, "a.png") is not None
    assert files.prune(now=clock() + 2 * 86_400) == 1 and files.store.files() == []


def test_a_pinned_file_outlives_the_retention_while_pinned(tmp_path: Path, engine: Engine) -> None:
    clock = FakeClock(time.time())
    files = ReportFiles(engine, "https://mg.example.com", retention_days=1, clock=clock)
    (tmp_path / "history.png").write_bytes(PNG)
    (tmp_path / "log.txt").write_text("log\n")
    shown = files.publish([tmp_path / "history.png", tmp_path / "log.txt"])
    assert published_file(shown.url("history.png")) == (shown.token, "history.png")
    assert published_file("https://mg.example.com/elsewhere/history.png") is None
    files.store.pin("dashboard:octo/wine", *published_file(shown.url("history.png")) or ("", ""),
                    now=datetime.now(UTC))
    clock.sleep(2 * 86_400)
    assert files.prune() == 1
    assert [f.name for f in files.store.files(shown.token)] == ["history.png"]  # its log went
    newer = files.publish([tmp_path / "history.png"])
    files.store.pin("dashboard:octo/wine", newer.token, "history.png", now=datetime.now(UTC))  # moves on
    assert files.store.pinned() == {"dashboard:octo/wine": (newer.token, "history.png")}
    assert files.prune() == 1 and files.store.files(shown.token) == []
    files.store.unpin("dashboard:octo/wine")
    assert files.prune(now=clock() + 2 * 86_400) == 1 and files.store.files() == []


def test_publishing_sweeps_old_reports_at_most_hourly(tmp_path: Path, engine: Engine) -> None:
    clock = FakeClock(time.time())
    files = ReportFiles(engine, None, retention_days=1 / 48, clock=clock)  # 30 minutes
    (tmp_path / "a.png").write_bytes(PNG)
    first = files.publish([tmp_path / "a.png"])
    clock.sleep(45 * 60)  # first is past retention, but the last sweep was under an hour ago
    second = files.publish([tmp_path / "a.png"])
    assert {f.token for f in files.store.files()} == {first.token, second.token}
    clock.sleep(20 * 60)  # an hour since the sweep: publishing sweeps the first report away
    third = files.publish([tmp_path / "a.png"])
    assert {f.token for f in files.store.files()} == {second.token, third.token}


def test_symlinks_and_special_files_in_the_output_dir_are_not_published(
    tmp_path: Path, engine: Engine
) -> None:
    secret = tmp_path / "app.env"
    secret.write_text("MODELGATE_WEBHOOK_SECRET=hunter2\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").symlink_to(secret)
    (out / "roc.png").symlink_to(tmp_path / "real.png")
    (tmp_path / "real.png").write_bytes(PNG)  # a link to a real PNG is still a link
    os.mkfifo(out / "log.txt")  # would block a plain open() forever
    (out / "pr.png").mkdir()
    (out / "cm.png").write_bytes(PNG)
    files = ReportFiles(engine, None)
    published = files.publish(sorted(out.iterdir()))
    assert published.files == ("cm.png",)
    assert [f.name for f in files.store.files(published.token)] == ["cm.png"]
    assert not any(b"hunter2" in f.content for f in files.store.files())


def test_a_png_must_start_with_the_png_signature(tmp_path: Path, engine: Engine) -> None:
    (tmp_path / "roc.png").write_bytes(b"<svg onload=alert(1)>")
    (tmp_path / "pr.png").write_bytes(PNG)
    (tmp_path / "report.md").write_text("# report")
    published = ReportFiles(engine, None).publish(
        [tmp_path / "roc.png", tmp_path / "pr.png", tmp_path / "report.md"]
    )
    assert published.files == ("pr.png", "report.md")


def test_responses_under_reports_forbid_sniffing_and_scripts(tmp_path: Path, engine: Engine) -> None:
    (tmp_path / "roc.png").write_bytes(PNG)
    (tmp_path / "report.md").write_text("<script>alert(1)</script>")
    files = ReportFiles(engine, None)
    published = files.publish([tmp_path / "roc.png", tmp_path / "report.md"])
    with serve(Starlette(routes=[files.route()])) as url:
        responses = [httpx.get(f"{url}/reports/{published.token}/{name}")
                     for name in ("roc.png", "report.md", "nope.png")]
    assert [r.status_code for r in responses] == [200, 200, 404]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        csp = response.headers["content-security-policy"]
        assert csp == SECURITY_HEADERS["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp


def test_the_publisher_neither_follows_nor_writes_through_links_the_job_left(
    tmp_path: Path, engine: Engine
) -> None:
    victim = tmp_path / "victim.txt"  # e.g. the App's .env: a job plants log.txt -> it
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "log.txt").symlink_to(victim)
    (out / "report.json").write_text(json.dumps(make_report()))
    files = ReportFiles(engine, "https://mg.example.com")
    publisher = ReportPublisher(files, RunStore(engine))
    rendered = publisher.render(out, "the job's log\n", None)
    assert rendered is not None and "/log.txt" in rendered.comment
    assert victim.read_text() == "keep me"
    [token] = sorted({f.token for f in files.store.files()})
    log_file = files.store.get(token, "log.txt")
    assert log_file is not None and log_file.content == b"the job's log\n"

    (out / "report.json").unlink()
    (out / "report.json").symlink_to(tmp_path / "elsewhere.json")  # e.g. another run's data
    (tmp_path / "elsewhere.json").write_text(json.dumps(make_report()))
    assert publisher.render(out, "log", None) is None
