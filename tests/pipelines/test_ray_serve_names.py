"""What a model's Ray Serve application is called and where it answers: pure decisions."""

from __future__ import annotations

import hashlib

import pytest

from pipelines.ray_serve.names import app_name, default_route_prefix, routes_overlap, url_name


@pytest.mark.parametrize(
    ("model", "cleaned"),
    [
        ("wine-classifier", None),  # already a path segment: itself
        ("wine_v2.1~x", None),
        ("Wine", "wine"),  # otherwise cleaned, with the whole name's hash after it
        ("wine classifier/éé", "wine-classifier"),
        ("../../admin", "admin"),
        ("-wine-", "wine"),
        ("???", "model"),
        ("x" * 60, "x" * 48),
    ],
)
def test_url_name(model: str, cleaned: str | None) -> None:
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    assert url_name(model) == (model if cleaned is None else f"{cleaned}-{digest}")


def test_names_that_clean_alike_get_different_applications() -> None:
    names = ["wine", "Wine", "WINE", "wine ", "wine?"]
    assert len({app_name(name) for name in names}) == len(names)
    assert len({default_route_prefix(name) for name in names}) == len(names)


def test_the_application_and_route_follow_the_model() -> None:
    assert (app_name("wine"), default_route_prefix("wine")) == ("modelgate-wine", "/wine")


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("/wine", "/wine", True),
        ("/wine", "/wine/invocations", True),  # the longer one would take the other's requests
        ("/wine/invocations", "/wine", True),
        ("/wine", "/wine-red", False),
        ("/wine/a", "/wine/b", False),
        ("/wine", "/", False),  # the catch-all route takes only what no prefix does
        ("/", "/", False),
    ],
)
def test_routes_overlap(first: str, second: str, overlap: bool) -> None:
    assert routes_overlap(first, second) is overlap
