"""Group commit: many concurrent webhook requests share one database transaction.

Requests hand their delivery to one writer thread and await the answer; the thread takes
everything queued since its last commit (up to ``max_batch``), stores it in one transaction
and wakes every waiter. Nothing is acknowledged before it is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence

from bot.store import IncomingDelivery

log = logging.getLogger(__name__)

RecordMany = Callable[[Sequence[IncomingDelivery]], list[bool]]
_Item = tuple[IncomingDelivery, asyncio.Future[bool], asyncio.AbstractEventLoop]
_STOP = object()


class WriterStopped(RuntimeError):
    """The writer is not running (shutting down)."""


class GroupCommitWriter:
    """Stores deliveries from any event loop through one thread, one commit per batch."""

    def __init__(self, record_many: RecordMany, max_batch: int = 256) -> None:
        self._record_many = record_many
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[list[IncomingDelivery]], None]] = []

    def on_committed(self, listener: Callable[[list[IncomingDelivery]], None]) -> None:
        """Call ``listener`` (in the writer thread) with the new deliveries of each commit."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._loop, name="delivery-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None

    async def submit(self, delivery: IncomingDelivery) -> bool:
        """Store ``delivery``; True when it is new, False for a redelivered GUID."""
        if self._thread is None:
            raise WriterStopped("the delivery writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.put((delivery, future, loop))
        return await future

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Item] = [first]  # type: ignore[list-item]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Item]) -> None:
        try:
            results: list[bool] | BaseException = self._record_many([d for d, _, _ in batch])
        except Exception as exc:  # the database is down: every waiter gets the error
            log.error("storing %d deliveries failed: %s", len(batch), exc)
            results = exc
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], object]]] = {}
        for index, (_, future, loop) in enumerate(batch):
            outcome = results if isinstance(results, BaseException) else results[index]
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
                loop.call_soon_threadsafe(_resolve, answers)
        if not isinstance(results, BaseException):
            fresh = [d for (d, _, _), new in zip(batch, results, strict=True) if new]
            for listener in self._listeners:
                listener(fresh)


def _resolve(answers: list[tuple[asyncio.Future[bool], object]]) -> None:
    for future, outcome in answers:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(bool(outcome))
