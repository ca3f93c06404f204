"""The sticky comment body: marker first, previous run folded, never over GitHub's limit."""

from bot.feedback.names import marker
from bot.feedback.sticky_comment import COMMENT_LIMIT, PREVIOUS, current_part, sticky_body


def test_first_comment_has_the_marker_and_no_previous_run() -> None:
    body = sticky_body("staging", "## ✅ passed")
    assert body.startswith("<!-- modelgate:staging -->\n## ✅ passed")
    assert PREVIOUS not in body and "<details>" not in body


def test_the_previous_run_is_folded_once_not_nested() -> None:
    first = sticky_body("staging", "run 1")
    second = sticky_body("staging", "run 2", first)
    third = sticky_body("staging", "run 3", second)
    assert "run 2" in third and "run 1" not in third  # only the run before
    assert third.count("<details>") == 1 and third.count(marker("staging")) == 1
    assert current_part(third, "staging") == "run 3"


def test_kinds_have_their_own_markers() -> None:
    assert marker("production") == "<!-- modelgate:production -->" != marker("staging")


def test_a_long_previous_run_is_dropped_to_fit() -> None:
    previous = sticky_body("staging", "x" * 40_000)
    body = sticky_body("staging", "y" * 40_000, previous)
    assert len(body) <= COMMENT_LIMIT and "x" * 100 not in body
