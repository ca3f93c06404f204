"""Group commit: many concurrent webhook requests share one database transaction.

Nothing is acknowledged before it is committed. Two strategies with one interface:

* ``InlineGroupCommit`` (SQLite): the event loop itself commits. A request queues its
  delivery and, if it is the first of a batch, schedules a flush two loop iterations later,
  so every request already being parsed joins the same commit. A local SQLite commit takes
  well under a millisecond and runs with no thread hand-off and no GIL contention, which
  is what lets one process outpace Probot on the ingest benchmark (bench/README.md). When
  another writer (another intake process, a run worker) has the database, the loop does not
  wait for it: a thread waits for the turn to be free and wakes the loop, which tries again,
  and the requests that arrived meanwhile join the batch.
* ``ThreadedGroupCommit`` (PostgreSQL and other network databases): one writer thread
  takes everything queued since its last commit, so a slow round trip never stalls the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Final, Protocol

from bot.store import IncomingDelivery, StoredBatch

log = logging.getLogger(__name__)

Record = Callable[[Sequence[IncomingDelivery]], StoredBatch]  # DeliveryStore.record
Turn = Callable[[bool], AbstractContextManager[bool]]  # writer_turn bound to the engine: wait → taken
WhenFree = Callable[[Callable[[], object]], None]  # when_turn_free bound to the engine: call back once free
Listener = Callable[[list[IncomingDelivery]], None]
RunsListener = Callable[[list[str]], None]
_Waiter = tuple[IncomingDelivery, asyncio.Future[bool]]
_Queued = tuple[IncomingDelivery, asyncio.Future[bool], asyncio.AbstractEventLoop]


class _Stop(enum.Enum):
    """The sentinel that stops the writer thread (once it has committed what was queued before it)."""

    STOP = enum.auto()


_STOP: Final = _Stop.STOP
FLUSH_HOPS = 2  # loop iterations a batch stays open: lets in-flight requests join it
MAX_BATCH = 256
RETRY_SECONDS = 0.001  # another writer has the database: try again this much later (no one to wake us)
WATCHED_RETRY_SECONDS = 0.05  # ... when a thread wakes us once it is free (a retry in case it cannot)
GIVE_UP_SECONDS = 5.0  # ... until then; after that wait for the turn (SQLite's busy timeout decides)


class WriterStopped(RuntimeError):
    """The writer is not running (shutting down)."""


class DeliveryWriter(Protocol):
    """Stores deliveries durably; ``submit`` returns True for a new GUID, False for a repeat."""

    def on_committed(self, listener: Listener) -> None: ...
    def on_runs_queued(self, listener: RunsListener) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def enqueue(self, delivery: IncomingDelivery) -> asyncio.Future[bool]: ...
    async def submit(self, delivery: IncomingDelivery) -> bool: ...


class _Base:
    def __init__(self, record: Record) -> None:
        self._record = record
        self._listeners: list[Listener] = []
        self._run_listeners: list[RunsListener] = []
        self._running = False

    def enqueue(self, delivery: IncomingDelivery) -> asyncio.Future[bool]:  # pragma: no cover - abstract
        """Queue ``delivery`` for a commit (on the running loop): True once stored anew, False for a repeat
        of a stored GUID; raises ``WriterStopped`` when not running."""
        raise NotImplementedError

    async def submit(self, delivery: IncomingDelivery) -> bool:
        """Store ``delivery``; True when it is new, False for a redelivered GUID."""
        return await self.enqueue(delivery)

    def on_committed(self, listener: Listener) -> None:
        """Call ``listener`` with the new deliveries of each commit."""
        self._listeners.append(listener)

    def on_runs_queued(self, listener: RunsListener) -> None:
        """Call ``listener`` with the GUIDs of the deliveries that queued a run of their own in a commit
        (not with those that joined a queued run): only when there are some."""
        self._run_listeners.append(listener)

    def _store(self, batch: list[_Waiter]) -> list[bool] | Exception:
        """Commit ``batch``; the per-delivery answers, or the error every waiter gets."""
        try:
            stored = self._record([delivery for delivery, _ in batch])
        except Exception as exc:  # the database is down: nothing was stored
            log.error("storing %d deliveries failed: %s", len(batch), exc)
            return exc
        fresh = [d for (d, _), new in zip(batch, stored.new, strict=True) if new]
        for listener in self._listeners:
            listener(fresh)
        if stored.queued_runs:
            queued = [d.guid for d in fresh if d.guid in stored.queued_runs]
            for runs_listener in self._run_listeners:
                runs_listener(queued)
        return stored.new


def _resolve(batch: list[_Waiter], results: list[bool] | Exception) -> None:
    for index, (_, future) in enumerate(batch):
        if future.done():
            continue
        if isinstance(results, Exception):
            future.set_exception(results)
        else:
            future.set_result(results[index])


def _always(wait: bool) -> AbstractContextManager[bool]:
    return nullcontext(True)


class InlineGroupCommit(_Base):
    """Commits on the event loop thread, batching what arrives within two loop turns (and while another
    writer has the database: ``turn`` asks for it without waiting, ``when_free`` wakes the loop when it
    is free)."""

    def __init__(self, record: Record, turn: Turn = _always, when_free: WhenFree | None = None) -> None:
        super().__init__(record)
        self._turn = turn
        self._when_free = when_free
        self._pending: list[_Waiter] = []
        self._waiting_since: float | None = None  # the turn was refused: a retry is scheduled
        self._retry: asyncio.TimerHandle | None = None
        self._watched = False  # ``when_free`` will wake the loop

    def start(self) -> None:
        """Accept deliveries."""
        self._running = True

    def stop(self) -> None:
        """Refuse new deliveries (pending ones are flushed by the loop before it closes)."""
        self._running = False

    def enqueue(self, delivery: IncomingDelivery) -> asyncio.Future[bool]:
        """Queue ``delivery`` for the batch being gathered (see ``_Base.enqueue``)."""
        if not self._running:
            raise WriterStopped("the delivery writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((delivery, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush_after, FLUSH_HOPS - 1, loop)
        elif len(self._pending) >= MAX_BATCH and self._waiting_since is None:
            self._flush(loop)
        return future

    def _flush_after(self, hops: int, loop: asyncio.AbstractEventLoop) -> None:
        if hops > 0:
            loop.call_soon(self._flush_after, hops - 1, loop)
        else:
            self._flush(loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._pending:
            return
        now = time.monotonic()
        patient = self._waiting_since is None or now - self._waiting_since < GIVE_UP_SECONDS
        with self._turn(not patient) as ours:
            if not ours:
                self._waiting_since = self._waiting_since or now
                self._retry_later(loop)
                return
            self._waiting_since = None
            batch, self._pending = self._pending, []
            _resolve(batch, self._store(batch))

    def _retry_later(self, loop: asyncio.AbstractEventLoop) -> None:
        """Flush again when ``when_free`` says the turn is free, or after a while (one retry at a time)."""
        if self._when_free is not None and not self._watched:
            self._watched = True
            self._when_free(lambda: loop.call_soon_threadsafe(self._freed, loop))
        if self._retry is None:
            delay = RETRY_SECONDS if self._when_free is None else WATCHED_RETRY_SECONDS
            self._retry = loop.call_later(delay, self._retried, loop)

    def _retried(self, loop: asyncio.AbstractEventLoop) -> None:
        self._retry = None
        self._flush(loop)

    def _freed(self, loop: asyncio.AbstractEventLoop) -> None:
        self._watched = False
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._flush(loop)


class ThreadedGroupCommit(_Base):
    """Commits on one writer thread: everything queued since the last commit, in one go."""

    def __init__(self, record: Record) -> None:
        super().__init__(record)
        self._queue: queue.SimpleQueue[_Queued | _Stop] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._loop, name="delivery-writer", daemon=True)
        self._thread.start()
        self._running = True

    def stop(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._running = False
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None

    def enqueue(self, delivery: IncomingDelivery) -> asyncio.Future[bool]:
        """Queue ``delivery`` for the writer thread (see ``_Base.enqueue``)."""
        if not self._running:
            raise WriterStopped("the delivery writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.put((delivery, future, loop))
        return future

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                return
            items = [first]
            while len(items) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                items.append(item)
            self._commit(items)

    def _commit(self, items: list[_Queued]) -> None:
        results = self._store([(delivery, future) for delivery, future, _ in items])
        by_loop: dict[asyncio.AbstractEventLoop, tuple[list[_Waiter], list[bool]]] = {}
        for index, (delivery, future, loop) in enumerate(items):
            waiters, answers = by_loop.setdefault(loop, ([], []))
            waiters.append((delivery, future))
            if not isinstance(results, Exception):
                answers.append(results[index])
        for loop, (waiters, answers) in by_loop.items():
            outcome = results if isinstance(results, Exception) else answers
            with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
                loop.call_soon_threadsafe(_resolve, waiters, outcome)


def writer_for(dialect: str, record: Record, turn: Turn = _always,
               when_free: WhenFree | None = None) -> DeliveryWriter:
    """The group-commit strategy for a database dialect (``sqlite``, ``postgresql``, ...); ``turn`` and
    ``when_free``: the SQLite writers' queue (``bot.store.writer_queue`` bound to the engine)."""
    if dialect == "sqlite":
        return InlineGroupCommit(record, turn, when_free)
    return ThreadedGroupCommit(record)
