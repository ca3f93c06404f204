"""What an unsigned or oversized request costs the webhook endpoint, over real HTTP (raw sockets
where a client library would finish the request first): refused before or while its body is
read, never buffered past the cap, and unable to add ``/metrics`` label values."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.server import Services, build_services, create_app
from bot.settings import Settings
from bot.webhooks.intake import MAX_BODY_BYTES
from github_standin.serving import serve
from tests.fixtures.corpus import CORPUS_APP_ID, SECRET, deliveries
from tests.fixtures.fronts import FRONTS, front_options
from tests.fixtures.raw_http import connect, read_answer, request_head

PATH = "/api/github/webhooks"
SIGNATURE = "sha256=" + "0" * 64  # well-formed, wrong


@dataclass
class Intake:
    url: str
    services: Services

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics").text

    def count(self, series: str) -> float:
        found = re.search(re.escape(series) + r" (\S+)", self.metrics())
        return float(found.group(1)) if found else 0.0


@pytest.fixture(params=FRONTS)
def intake(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Intake]:
    settings = Settings(webhook_secret=SECRET, app_id=CORPUS_APP_ID, data_dir=tmp_path, workers=0,
                        http_read_timeout_seconds=0.5)
    services = build_services(settings)
    with serve(create_app(services), options=front_options(request.param, settings)) as url:
        yield Intake(url, services)


def head(length: int | None, **extra: str) -> bytes:
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
               "Content-Type": "application/json", **extra}
    if length is not None:
        headers["Content-Length"] = str(length)
    return request_head("POST", PATH, headers)


@pytest.mark.parametrize("signature", [None, "sha1=" + "0" * 40, "sha256=not-hex", SIGNATURE[:-1]])
def test_a_request_that_cannot_be_signed_is_refused_before_its_body(
    intake: Intake, signature: str | None
) -> None:
    extra = {} if signature is None else {"X-Hub-Signature-256": signature}
    with connect(intake.url) as sock:
        sock.sendall(head(1_000_000, **extra))  # the body never comes: the answer must not wait for it
        answer = read_answer(sock)
    assert (answer.status, answer.closed) == (401, True)
    assert answer.header("connection") == "close" and answer.seconds < 0.4  # < the 0.5 s read timeout
    assert intake.services.deliveries.count() == 0


def test_a_declared_oversize_body_is_refused_unread(intake: Intake) -> None:
    with connect(intake.url) as sock:
        sock.sendall(head(MAX_BODY_BYTES + 1, **{"X-Hub-Signature-256": SIGNATURE}))
        answer = read_answer(sock)
    assert (answer.status, answer.closed) == (413, True) and answer.seconds < 0.4


def test_a_streamed_body_is_read_up_to_the_cap_and_no_further(intake: Intake) -> None:
    """Chunked, with no length: the endpoint answers 413 once the cap is passed and closes the
    connection, though the body has not ended (its final chunk is never sent)."""
    megabyte = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
    with connect(intake.url) as sock:
        sock.sendall(head(None, **{"X-Hub-Signature-256": SIGNATURE, "Transfer-Encoding": "chunked"}))
        for _ in range(MAX_BODY_BYTES // (1 << 20)):
            sock.sendall(megabyte)
        sock.sendall(b"1\r\n \r\n")  # one byte past the cap
        answer = read_answer(sock)
    assert (answer.status, answer.closed) == (413, True)
    assert intake.services.deliveries.count() == 0


def test_a_body_that_stalls_gets_408(intake: Intake) -> None:
    with connect(intake.url) as sock:
        sock.sendall(head(1000, **{"X-Hub-Signature-256": SIGNATURE}) + b'{"zen": ')
        answer = read_answer(sock)
    assert (answer.status, answer.closed) == (408, True)
    assert 0.4 < answer.seconds < 3 and b"not received within 0.5 s" in answer.data


def test_metrics_count_unknown_events_as_other(intake: Intake) -> None:
    names = [f"forged_{uuid.uuid4().hex}" for _ in range(20)]
    rejected = 'modelgate_webhook_deliveries_total{event="other",outcome="rejected"}'
    before = intake.count(rejected)
    for name in names:  # unsigned: anyone on the internet can send these
        response = httpx.post(intake.url + PATH, content=b"{}", headers={"X-GitHub-Event": name})
        assert response.status_code == 401
    ignored = 'modelgate_webhook_deliveries_total{event="other",outcome="ignored"}'
    ignored_before = intake.count(ignored)
    d = deliveries()["ping.app-hook.1"]  # signed (the body is), with an event the App does not expect
    signed = httpx.post(intake.url + PATH, content=d.body, headers=d.headers | {"X-GitHub-Event": names[0]})
    assert (signed.status_code, signed.json()["outcome"]) == (202, "ignored")
    text = intake.metrics()
    assert (intake.count(rejected), intake.count(ignored)) == (before + 20, ignored_before + 1)
    assert "forged_" not in text
    events = set(re.findall(r'modelgate_webhook_deliveries_total\{event="([^"]*)"', text))
    assert events <= {"other", "ping", "pull_request", "push", "issue_comment", "check_run", "check_suite",
                      "installation", "installation_repositories"}
