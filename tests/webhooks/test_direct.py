"""``modelgate serve`` answers the webhook endpoint from its HTTP protocol (``bot.webhooks.direct``): what
uvicorn's ASGI cycle did for it must still hold, over raw sockets: pipelined requests answered in order
(deliveries and other paths mixed), ``Expect: 100-continue``, HTTP/1.0, a client that leaves before its
answer, and everything else still reaching the ASGI app. (The endpoint's own behaviour runs on both fronts
in ``test_ingest.py`` and ``test_intake_limits.py``.)"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.server import Services, build_services, create_app
from bot.settings import Settings
from github_standin.serving import serve
from tests.fixtures.corpus import CORPUS_APP_ID, SECRET, Delivery, deliveries
from tests.fixtures.fronts import serve_options
from tests.fixtures.raw_http import connect, read_answer, read_answers, request_head

PATH = "/api/github/webhooks"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Services]]:
    settings = Settings(webhook_secret=SECRET, app_id=CORPUS_APP_ID, data_dir=tmp_path, workers=0)
    services = build_services(settings)
    with serve(create_app(services), options=serve_options(settings)) as url:
        yield url, services


def _request(d: Delivery, *, version: str = "1.1", **extra: str) -> bytes:
    headers = {k: v for k, v in d.headers.items() if k.lower() != "content-length"}
    head = request_head("POST", PATH, headers | {"Content-Length": str(len(d.body))} | extra)
    return head.replace(b" HTTP/1.1\r\n", f" HTTP/{version}\r\n".encode(), 1) + d.body


def _body(answer: bytes) -> dict[str, str]:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def test_pipelined_requests_are_answered_in_order(served: tuple[str, Services]) -> None:
    url, services = served
    opened, ping = deliveries()["pull_request.opened.1"], deliveries()["ping.app-hook.1"]
    health = request_head("GET", "/healthz", {})
    with connect(url) as sock:
        sock.sendall(_request(opened) + health + _request(ping) + _request(opened))  # pipelined
        answers = read_answers(sock, 4)
        sock.sendall(_request(ping))  # the connection is kept alive
        again = read_answers(sock, 1)
    assert [a.status for a in answers + again] == [202, 200, 202, 200, 200]
    assert _body(answers[0].data) == {"delivery": opened.guid, "outcome": "accepted"}
    assert _body(answers[1].data)["status"] == "ok"
    assert _body(answers[2].data) == {"delivery": ping.guid, "outcome": "ignored"}
    assert [_body(a.data)["outcome"] for a in (answers[3], again[0])] == ["duplicate", "duplicate"]
    assert answers[0].header("date") and answers[0].header("content-type") == "application/json"
    assert services.deliveries.count() == 2


def test_expect_100_continue_is_answered_only_for_a_request_that_can_be_signed(
    served: tuple[str, Services],
) -> None:
    url, services = served
    d = deliveries()["pull_request.opened.1"]
    request = _request(d, Expect="100-continue")
    head, body = request[:len(request) - len(d.body)], d.body
    with connect(url) as sock:
        sock.sendall(head)
        interim = read_answer(sock, until_closed=False)
        sock.sendall(body)
        final = read_answers(sock, 1)
    assert interim.data == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert [a.status for a in final] == [202]
    unsigned = head.replace(b"X-Hub-Signature-256", b"X-Not-A-Signature")
    with connect(url) as sock:
        sock.sendall(unsigned)  # refused before any of the body is asked for
        refused = read_answer(sock)
    assert (refused.status, refused.closed) == (401, True) and b"100 Continue" not in refused.data
    assert services.deliveries.count() == 1


def test_http_1_0_gets_its_answer_and_the_connection_closes(served: tuple[str, Services]) -> None:
    url, _ = served
    with connect(url) as sock:
        sock.sendall(_request(deliveries()["ping.app-hook.1"], version="1.0"))
        answer = read_answer(sock)
    assert (answer.status, answer.closed, answer.header("connection")) == (202, True, "close")


def test_a_client_that_leaves_before_its_answer_loses_nothing(served: tuple[str, Services]) -> None:
    url, services = served
    first = deliveries()["pull_request.opened.1"]
    sock = connect(url)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
    sock.sendall(_request(first))
    sock.close()  # gone before the delivery is committed, most likely
    deadline = time.monotonic() + 5
    while services.deliveries.count() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert services.deliveries.get(first.guid) is not None  # stored all the same: a redelivery is a duplicate
    second = deliveries()["ping.app-hook.1"]
    response = httpx.post(url + PATH, content=second.body, headers=second.headers)
    assert response.status_code == 202  # the server goes on


def test_other_methods_and_paths_still_reach_the_app(served: tuple[str, Services]) -> None:
    url, _ = served
    assert httpx.get(url + PATH).status_code == 405
    assert httpx.get(url + "/healthz").json()["status"] == "ok"
    assert httpx.post(url + PATH + "/more", content=b"{}").status_code == 404
