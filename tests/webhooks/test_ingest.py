"""The webhook endpoint over real HTTP, on SQLite and PostgreSQL: every corpus delivery,
redelivery across a restart, and every way a request can be refused."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.server import Services, build_services, create_app
from bot.settings import Settings
from bot.store import create_db_engine
from bot.webhooks.intake import MAX_BODY_BYTES
from github_standin.serving import serve
from tests.fixtures.corpus import CORPUS_APP_ID, QUEUES, SECRET, Delivery, deliveries, derive
from tests.fixtures.db import drop_store_tables
from tests.fixtures.fronts import FRONTS, front_options
from tests.fixtures.standin import TLS

PATH = "/api/github/webhooks"


@dataclass
class Intake:
    url: str
    services: Services

    def post(self, d: Delivery, **headers: str) -> httpx.Response:
        merged = {k: v for k, v in (d.headers | headers).items() if v != ""}
        return httpx.post(self.url + PATH, content=d.body, headers=merged, timeout=30, verify=TLS)

    def metric(self, text: str) -> float:
        body = httpx.get(self.url + "/metrics", verify=TLS).text
        for line in body.splitlines():
            if line.startswith(text + " "):
                return float(line.split()[-1])
        return 0.0


@contextmanager
def running_intake(db_url: str, data_dir: Path, front: str = "serve") -> Iterator[Intake]:
    settings = Settings(
        webhook_secret=SECRET, app_id=CORPUS_APP_ID, database_url=db_url, data_dir=data_dir, workers=0
    )
    services = build_services(settings)
    with serve(create_app(services), options=front_options(front, settings)) as url:
        yield Intake(url, services)


@pytest.fixture(params=FRONTS)
def intake(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Intake]:
    with running_intake(db_url, tmp_path, request.param) as running:
        yield running


def test_replays_every_corpus_delivery_byte_for_byte(intake: Intake) -> None:
    corpus = deliveries()
    for d in corpus.values():
        response = intake.post(d)
        assert response.status_code == 202, (d.name, response.text)
        expected = "accepted" if d.name in QUEUES else "ignored"
        assert response.json() == {"delivery": d.guid, "outcome": expected}, d.name
    store = intake.services.deliveries
    assert store.count() == len(corpus) == 60
    for d in corpus.values():
        stored = store.get(d.guid)
        assert stored is not None and stored.event == d.event
    runs = intake.services.runs.list_runs(limit=1000)
    keys = {(r.kind, r.repository, r.pr_number, r.head_sha, r.job) for r in runs}
    assert len(runs) == len(keys) >= 1  # coalesced: one queued run per (PR, SHA), per lost repositories
    assert {r.state for r in runs} == {"queued"}
    assert {r.kind for r in runs} == {kind for kind, _ in QUEUES.values()}


def test_redelivery_is_answered_and_creates_nothing_even_after_restart(
    db_url: str, tmp_path: Path
) -> None:
    d = deliveries()["pull_request.opened.1"]
    with running_intake(db_url, tmp_path) as first:
        assert first.post(d).status_code == 202
        assert first.post(d).json()["outcome"] == "duplicate"
        runs_before = first.services.runs.list_runs()
    with running_intake(db_url, tmp_path) as second:  # a new process on the same database
        response = second.post(d)
        assert (response.status_code, response.json()["outcome"]) == (200, "duplicate")
        assert second.services.deliveries.count() == 1
        assert second.services.runs.list_runs() == runs_before
        duplicates = 'modelgate_webhook_deliveries_total{event="pull_request",outcome="duplicate"}'
        assert second.metric(duplicates) >= 1


def test_unhandled_events_are_counted_as_ignored(intake: Intake) -> None:
    label = 'modelgate_webhook_deliveries_total{event="ping",outcome="ignored"}'
    before = intake.metric(label)
    for name in ("ping.app-hook.1", "ping.repo-hook.1"):
        assert intake.post(deliveries()[name]).json()["outcome"] == "ignored"
    assert intake.metric(label) == before + 2
    assert intake.services.runs.list_runs() == []


@pytest.mark.parametrize(
    "tamper",
    ["flipped-byte", "wrong-secret", "missing", "reserialised", "sha1-only", "wrong-algorithm"],
)
def test_bad_signatures_get_401_and_store_nothing(
    intake: Intake, tamper: str, caplog: pytest.LogCaptureFixture
) -> None:
    d = deliveries()["pull_request.opened.1"]
    body, headers = d.body, dict(d.headers)
    if tamper == "flipped-byte":
        body = body[:100] + bytes([body[100] ^ 1]) + body[101:]
    elif tamper == "wrong-secret":
        body, headers = derive(d.name, secret="not-the-secret").body, derive(d.name, secret="x").headers
    elif tamper == "missing":
        del headers["X-Hub-Signature-256"]
    elif tamper == "reserialised":
        body = json.dumps(json.loads(body)).encode()
    elif tamper == "sha1-only":
        headers["X-Hub-Signature-256"] = headers["X-Hub-Signature"]
    elif tamper == "wrong-algorithm":
        headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"].replace("sha256=", "sha512=")
    with caplog.at_level(logging.DEBUG):
        response = httpx.post(intake.url + PATH, content=body, headers=headers)
    assert response.status_code == 401
    assert intake.services.deliveries.count() == 0
    assert "Hello-World" not in caplog.text  # the body of a rejected request is never logged


def test_missing_delivery_headers_get_400(intake: Intake) -> None:
    d = deliveries()["pull_request.opened.1"]
    no_event = intake.post(d, **{"X-GitHub-Event": ""})
    no_guid = intake.post(d, **{"X-GitHub-Delivery": ""})
    assert (no_event.status_code, no_guid.status_code) == (400, 400)
    assert "X-GitHub-Event" in no_event.json()["error"]
    assert "X-GitHub-Delivery" in no_guid.json()["error"]
    assert intake.services.deliveries.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"[]", "not a JSON object"), (b"null", "not a JSON object"), (b"{oops", "not valid JSON"),
     (b'{"action": "opened"}', "pull_request: required field missing")],
)
def test_malformed_bodies_get_400_with_the_reason(intake: Intake, body: bytes, message: str) -> None:
    from bot.webhooks.signature import sign

    d = deliveries()["pull_request.opened.1"]
    headers = d.headers | {"X-Hub-Signature-256": sign(SECRET, body)}
    response = httpx.post(intake.url + PATH, content=body, headers=headers)
    assert response.status_code == 400 and message in response.json()["error"]
    assert intake.services.deliveries.count() == 0


def test_oversize_bodies_get_413_declared_or_streamed(intake: Intake) -> None:
    d = deliveries()["ping.app-hook.1"]
    big = b" " * (MAX_BODY_BYTES + 1)
    declared = httpx.post(intake.url + PATH, content=big, headers=d.headers)
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for _ in range(26):
            yield b" " * (1024 * 1024)

    streamed = httpx.post(intake.url + PATH, content=chunks(), headers=d.headers, timeout=60)
    assert streamed.status_code == 413
    assert intake.services.deliveries.count() == 0


def test_healthz_follows_the_database(intake: Intake) -> None:
    assert httpx.get(intake.url + "/healthz").json() == {"status": "ok", "database": "up"}
    services = intake.services
    alive, services.engine = services.engine, create_db_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        response = httpx.get(intake.url + "/healthz")
        assert (response.status_code, response.json()["database"]) == (503, "down")
    finally:
        services.engine.dispose()
        services.engine = alive


def test_metrics_expose_deliveries_and_runs(intake: Intake) -> None:
    for name in ("pull_request.opened.1", "ping.app-hook.1"):
        intake.post(deliveries()[name])
    text = httpx.get(intake.url + "/metrics").text
    assert 'modelgate_webhook_deliveries_total{event="pull_request",outcome="accepted"}' in text
    assert 'modelgate_runs{kind="staging",state="queued"} 1.0' in text
    assert "modelgate_webhook_ingest_seconds_bucket" in text
    assert "modelgate_github_api_calls_total" in text or "modelgate_github_api_seconds" in text


def test_a_failing_database_gets_503_so_github_shows_it_failed(intake: Intake) -> None:
    drop_store_tables(intake.services.engine)
    response = intake.post(deliveries()["pull_request.opened.1"])
    assert response.status_code == 503
    assert "redeliver" in response.json()["error"]
