"""The JSON log format and the log context, through real ``logging`` handlers."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from bot.logs import ContextFilter, JsonFormatter, bind_log_context, log_context


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose lines go, as JSON, to a string buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("modelgate.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    """Each line as JSON (every line must be one object)."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_carry_the_context_where_it_is_known(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("outside")
    with log_context(delivery_id="d-1", repository="octo/hello"):
        bind_log_context(sha="abc", run_id=None)
        logger.warning("inside %s", "delivery")
        with log_context(run_id=7):
            logger.info("in the run")
        thread = threading.Thread(target=lambda: logger.info("other thread"))  # threads start without it
        thread.start()
        thread.join()
    logger.info("after")
    got = lines(stream)
    assert [{k: v for k, v in line.items() if k != "time"} for line in got] == [
        {"level": "INFO", "logger": "modelgate.test-logs", "message": "outside"},
        {"level": "WARNING", "logger": "modelgate.test-logs", "message": "inside delivery",
         "delivery_id": "d-1", "repository": "octo/hello", "sha": "abc"},
        {"level": "INFO", "logger": "modelgate.test-logs", "message": "in the run",
         "delivery_id": "d-1", "repository": "octo/hello", "sha": "abc", "run_id": 7},
        {"level": "INFO", "logger": "modelgate.test-logs", "message": "other thread"},
        {"level": "INFO", "logger": "modelgate.test-logs", "message": "after"},
    ]
    assert all(str(line["time"]).endswith("+00:00") for line in got)


def test_an_exception_becomes_a_traceback_field(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logger.exception("it failed")
    (line,) = lines(stream)
    assert line["message"] == "it failed" and line["level"] == "ERROR"
    assert str(line["traceback"]).startswith("Traceback (most recent call last):")
    assert str(line["traceback"]).endswith("ValueError: bad\nvalue")


def test_unknown_context_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="not log context fields"), log_context(user="x"):
        pass
