"""Published report files over real HTTP: unguessable tokens, cache headers, 404s, retention."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette

from bot.feedback.report_files import ReportFiles
from github_standin.serving import serve


def test_files_are_served_under_a_random_token_with_long_cache(tmp_path: Path) -> None:
    source = tmp_path / "out"
    source.mkdir()
    (source / "roc.png").write_bytes(b"\x89PNG fake")
    (source / "log.txt").write_text("step 1\n")
    (source / "secret.py").write_text("not published")
    files = ReportFiles(tmp_path / "reports", "https://mg.example.com/")
    published = files.publish(sorted(source.iterdir()))
    assert len(published.token) == 32 and int(published.token, 16) >= 0
    assert published.files == ("log.txt", "roc.png")
    assert published.url("roc.png") == f"https://mg.example.com/reports/{published.token}/roc.png"
    assert files.publish([source / "roc.png"]).token != published.token
    with serve(Starlette(routes=[files.route()])) as url:
        png = httpx.get(f"{url}/reports/{published.token}/roc.png")
        assert (png.status_code, png.content) == (200, b"\x89PNG fake")
        assert png.headers["content-type"] == "image/png"
        cache = png.headers["cache-control"]
        assert "immutable" in cache and "max-age=31536000" in cache
        assert httpx.get(f"{url}/reports/{published.token}/log.txt").text == "step 1\n"
        for bad in [f"{'0' * 32}/roc.png", f"{published.token}/secret.py", f"{published.token}/nope.png",
                    f"{published.token}/..%2Froc.png", "not-a-token/roc.png"]:
            assert httpx.get(f"{url}/reports/{bad}").status_code == 404, bad


def test_old_reports_are_pruned(tmp_path: Path) -> None:
    files = ReportFiles(tmp_path / "reports", None, retention_days=1)
    (tmp_path / "a.png").write_bytes(b"x")
    old, new = files.publish([tmp_path / "a.png"]), files.publish([tmp_path / "a.png"])
    two_days_ago = time.time() - 2 * 86_400
    os.utime(tmp_path / "reports" / old.token, (two_days_ago, two_days_ago))
    assert files.prune() == 1
    assert not (tmp_path / "reports" / old.token).exists()
    assert (tmp_path / "reports" / new.token / "a.png").exists()
