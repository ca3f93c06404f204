"""Log output: readable text (the default) or one JSON object per line (``MODELGATE_LOG_FORMAT=json``),
and the context every line inherits: the delivery, run, repository and commit being handled.

The context lives in ``contextvars``: set it with ``log_context(...)`` where a delivery is handled (the
webhook intake) and where a run is processed (a worker thread, once it claimed the run); every line logged
inside, by any module, carries those fields.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
CONTEXT_FIELDS = ("delivery_id", "run_id", "repository", "sha")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_context: ContextVar[dict[str, Any] | None] = ContextVar("modelgate_log_context", default=None)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (of ``CONTEXT_FIELDS``; None values are left out) to every line logged inside."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"not log context fields: {sorted(unknown)}")
    merged = {**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**fields: Any) -> None:
    """Add ``fields`` to the current context until the enclosing ``log_context`` ends (for a delivery:
    once its repository is known)."""
    _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})


def current_log_context() -> dict[str, Any]:
    """The fields lines logged here carry now."""
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record (as attributes) when it is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record."""
        record.modelgate_context = current_log_context()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the context
    fields that are known, and ``traceback`` for an exception (``stack`` for ``stack_info``)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        context = getattr(record, "modelgate_context", None)
        entry.update(current_log_context() if context is None else context)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str, log_format: LogFormat = "text") -> None:
    """Log to stderr at ``level`` in ``log_format`` (once: a root logger that already has handlers stays)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    if log_format == "json":
        logging.captureWarnings(True)  # Python's warnings as log lines too, not bare text on stderr
        # MLflow gives its logger a text handler of its own when it is imported, unless told not to
        os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
