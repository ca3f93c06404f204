"""X-Hub-Signature-256 verification against GitHub's test vector and the corpus."""

import json

import pytest

from bot.webhooks.signature import sign, verify, well_formed
from tests.fixtures.corpus import GITHUB, SECRET, deliveries


def test_github_documented_test_vector() -> None:
    vector = json.loads((GITHUB / "webhook-signature-test-vector.json").read_text())
    text = json.dumps(vector)
    assert "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" in text
    header = sign("It's a Secret to Everybody", b"Hello, World!")
    assert header == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify("It's a Secret to Everybody", b"Hello, World!", header)


@pytest.mark.parametrize("name", sorted(deliveries()))
def test_every_corpus_signature_verifies(name: str) -> None:
    d = deliveries()[name]
    assert verify(SECRET, d.body, d.headers["X-Hub-Signature-256"])


def test_rejects_tampering_and_wrong_forms() -> None:
    d = deliveries()["pull_request.opened.1"]
    good = d.headers["X-Hub-Signature-256"]
    flipped = bytes([d.body[0] ^ 1]) + d.body[1:]
    reserialised = json.dumps(json.loads(d.body)).encode()
    assert not verify(SECRET, flipped, good)
    assert not verify("wrong-secret", d.body, good)
    assert not verify(SECRET, reserialised, good)
    assert not verify(SECRET, d.body, None)
    assert not verify(SECRET, d.body, "")
    assert not verify(SECRET, d.body, d.headers["X-Hub-Signature"])  # sha1 is never trusted
    assert not verify(SECRET, d.body, good.replace("sha256=", "sha512="))
    assert not verify(SECRET, d.body, good[:-2])


@pytest.mark.parametrize(
    ("header", "ok"),
    [(None, False), ("", False), ("sha256=" + "a" * 64, True), (" sha256=" + "0" * 64 + " ", True),
     ("sha256=" + "A" * 64, False), ("sha256=" + "a" * 63, False), ("sha256=" + "a" * 65, False),
     ("sha1=" + "a" * 40, False), ("sha512=" + "a" * 128, False), ("sha256=" + "g" * 64, False)],
)
def test_only_a_well_formed_header_lets_the_body_be_read(header: str | None, ok: bool) -> None:
    assert well_formed(header) is ok
