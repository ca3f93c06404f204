"""Short garbage-collector pauses in ``serve``'s long-running processes.

A full collection walks every tracked object and holds the GIL while it does: in a process that imported
MLflow, SQLAlchemy, Alembic and githubkit's models that took 100–300 ms, during which no other thread of the
process ran (an acknowledgement, a notice, a request). What a process imports at start stays until it
exits, so once started it collects once and moves every object alive then out of the collector's reach
(``gc.freeze``); later full collections walk only what was made since.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)
_lock = threading.Lock()


def freeze_startup_heap(what: str) -> None:
    """Collect, then freeze every object alive now; ``what`` (the start-up step just done) is logged. Call
    it when a start-up step that imports much has ended: what is alive then lives as long as the process."""
    with _lock:
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        log.debug("after %s: %d objects frozen in %.0f ms", what, gc.get_freeze_count(),
                  (time.perf_counter() - started) * 1000)
