"""``MODELGATE_LOG_FORMAT=json`` on a real ``modelgate serve``: a pull request's delivery and the staging
run it queues log JSON lines carrying the delivery id, the run id, the repository and the commit; every
line the process writes is one JSON object. The default stays readable text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.serving import free_port
from tests.fixtures.serve_process import ServeProcess, popen_serve
from tests.fixtures.standin import SandboxHandle
from tests.fixtures.standin_repos import seed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR|DEBUG) [\w.]+: ")


def parsed(log: Path) -> list[dict[str, Any]]:
    """Every line of ``log`` as a JSON object (fails on any other line)."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_a_delivery_and_its_run_log_json_lines_with_their_ids(sandbox: SandboxHandle, tmp_path: Path) -> None:
    port = free_port()
    settings = {
        "MODELGATE_APP_ID": str(sandbox.app_id), "MODELGATE_PRIVATE_KEY": sandbox.private_key_pem,
        "MODELGATE_WEBHOOK_SECRET": sandbox.webhook_secret, "MODELGATE_GITHUB_API_URL": sandbox.url,
        "MODELGATE_DATA_DIR": str(tmp_path / "data"), "MODELGATE_PORT": str(port),
        "MODELGATE_WORKERS": "1", "MODELGATE_LOG_FORMAT": "json",
    }
    log = tmp_path / "serve.log"
    server = ServeProcess("modelgate serve", port, popen_serve(settings, tmp_path, log), log)
    try:
        server.wait_healthy({"running"}, timeout=180)  # MLflow prepares its store first
        sandbox.set_webhook_url(f"{server.url}/api/github/webhooks")
        seeded = seed(sandbox)
        deadline = time.monotonic() + 120
        while not any(line.get("sha") == seeded.head_sha and "finished:" in line["message"]
                      for line in parsed(log)):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        server.stop()
    lines = parsed(log)
    (opened,) = [d for d in sandbox.client.state("deliveries")["deliveries"] if d["event"] == "pull_request"]
    guid = opened["guid"]
    accepted = [line for line in lines if line.get("delivery_id") == guid and "run_id" not in line]
    assert [line["message"] for line in accepted] == [
        f"webhook accepted: event=pull_request action=opened delivery={guid}"]
    assert (accepted[0]["repository"], accepted[0]["sha"], accepted[0]["logger"]) == (
        "octo/hello", seeded.head_sha, "bot.webhooks.intake")
    run_lines = [line for line in lines if "run_id" in line and line["delivery_id"] == guid]
    assert run_lines, log.read_text()[-3000:]  # (the repository's first push queues a run of its own)
    run_id = run_lines[0]["run_id"]
    assert {(line["run_id"], line["delivery_id"], line["repository"], line["sha"]) for line in run_lines} == {
        (run_id, guid, "octo/hello", seeded.head_sha)}
    messages = [line["message"] for line in run_lines]
    assert messages[0] == f"run {run_id} (staging octo/hello) started, attempt 1"
    assert any(m.startswith(f"run {run_id} (staging octo/hello) finished: ") for m in messages)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"] == "uvicorn.error" and "Uvicorn running on" in line["message"]
               for line in lines)


def test_the_default_log_format_stays_text(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    env["MODELGATE_DATA_DIR"] = str(tmp_path / "data")
    text = subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=True)
    records: list[str] = []  # a text record is a line "TIME LEVEL LOGGER: message", a message may go on
    for line in text.stderr.splitlines():
        if TEXT_LINE.match(line):
            records.append(TEXT_LINE.sub("", line))
        else:
            assert records, text.stderr
            records[-1] += "\n" + line
    assert len(records) > 3 and records[0] == "Context impl SQLiteImpl."
    env["MODELGATE_LOG_FORMAT"] = "json"
    env["MODELGATE_DATA_DIR"] = str(tmp_path / "data2")
    as_json = subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=True)
    entries = [json.loads(line) for line in as_json.stderr.splitlines()]
    assert [e["message"] for e in entries] == records
