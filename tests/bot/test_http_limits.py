"""``modelgate serve``'s HTTP limits, against the real app under uvicorn with ``server_options``:
header-size cap, a deadline for the headers, keep-alive timeout and the concurrency limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.server import build_services, create_app
from bot.settings import Settings
from bot.webhooks.server_options import server_options
from github_standin.serving import serve
from tests.fixtures.corpus import CORPUS_APP_ID, SECRET, deliveries
from tests.fixtures.fronts import serve_options
from tests.fixtures.raw_http import connect, read_answer, request_head

LIMITS = {"http_max_header_bytes": 2048, "http_read_timeout_seconds": 0.5, "http_keep_alive_seconds": 1,
          "http_max_concurrency": 4}


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    settings = Settings(webhook_secret=SECRET, app_id=CORPUS_APP_ID, data_dir=tmp_path, workers=0, **LIMITS)
    with serve(create_app(build_services(settings)), options=serve_options(settings)) as url:
        yield url


def test_the_defaults_are_sane() -> None:
    options = server_options(Settings())
    assert (options["limit_concurrency"], options["timeout_keep_alive"]) == (100, 5)
    assert options["h11_max_incomplete_event_size"] == 16_384
    assert options["http"].keywords == {"max_header_bytes": 16_384, "read_timeout": 10.0}


def test_headers_over_the_cap_get_431_and_the_connection_closes(app_url: str) -> None:
    assert httpx.get(app_url + "/healthz", headers={"X-Padding": "p" * 1500}).status_code == 200
    with connect(app_url) as sock:
        sock.sendall(request_head("GET", "/healthz", {"X-Padding": "p" * 1500})[:-2])
        sock.sendall(b"X-More: " + b"m" * 1000 + b"\r\n")  # headers not finished, now over 2048 bytes
        answer = read_answer(sock)
    assert (answer.status, answer.closed) == (431, True)
    assert b"larger than 2048 bytes" in answer.data


def test_a_body_is_not_counted_as_headers(app_url: str) -> None:
    d = deliveries()["pull_request.opened.1"]
    assert len(d.body) > 10_000  # five times the header cap, sent in one piece with the headers
    headers = {k: v for k, v in d.headers.items() if k.lower() != "content-length"}
    head = request_head("POST", "/api/github/webhooks", headers | {"Content-Length": str(len(d.body))})
    with connect(app_url) as sock:
        sock.sendall(head + d.body + head + d.body)  # and again, pipelined
        first = read_answer(sock, until_closed=False)
    assert first.status == 202


def test_headers_that_do_not_arrive_in_time_get_408(app_url: str) -> None:
    with connect(app_url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # ... and the rest never comes
        trickled = read_answer(sock)
    with connect(app_url) as sock:
        silent = read_answer(sock)  # a connection that sends nothing at all
    for answer in (trickled, silent):
        assert (answer.status, answer.closed) == (408, True)
        assert 0.4 < answer.seconds < 3


def test_an_idle_kept_alive_connection_is_closed(app_url: str) -> None:
    with connect(app_url) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        first = read_answer(sock, until_closed=False)
        assert first.status == 200
        started = time.monotonic()
        rest = read_answer(sock)
    assert rest.closed and rest.data == b""
    assert time.monotonic() - started < 3  # http_keep_alive_seconds=1


def test_connections_over_the_limit_get_503(app_url: str) -> None:
    idle = [connect(app_url) for _ in range(3)]
    try:
        time.sleep(0.1)  # accepted by the server
        assert httpx.get(app_url + "/healthz").status_code == 503
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.1)
    assert httpx.get(app_url + "/healthz").status_code == 200
