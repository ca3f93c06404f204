"""Client-side limits for GitHub calls: a sliding-window limiter for content-creating requests
and a short-lived cache of collaborator permissions.

GitHub's secondary rate limits allow about 80 content-creating requests a minute and 500 an
hour. ``SlidingWindowLimiter`` keeps us under them without dropping anything: a call that
would overflow a window sleeps until it fits. Both classes hold state **per process** (and
per ``GitHubApp``): several processes sharing one installation each get the full budget.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from cachetools import TTLCache
from prometheus_client import Histogram

from bot.metrics import REGISTRY

DEFAULT_CONTENT_LIMITS: tuple[tuple[int, float], ...] = ((80, 60.0), (500, 3600.0))
MIN_SLEEP = 0.001  # never sleep less, so float rounding cannot spin the wait loop

CONTENT_WAIT_SECONDS = Histogram(
    "modelgate_github_content_wait_seconds",
    "Time content-creating GitHub calls waited for the client-side secondary-rate-limit windows.",
    buckets=(0.0, 0.1, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
    registry=REGISTRY,
)


class SlidingWindowLimiter:
    """Thread-safe sliding-window limiter over one or more ``(max_calls, seconds)`` windows.

    ``acquire()`` returns at once while every window has room; otherwise it sleeps until the
    oldest call that fills a window has left it. Per process: not shared between processes.
    """

    def __init__(
        self,
        windows: Sequence[tuple[int, float]] = DEFAULT_CONTENT_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        if not windows:
            raise ValueError("at least one window is needed")
        for limit, seconds in windows:
            if limit < 1 or seconds <= 0:
                raise ValueError(f"bad window ({limit}, {seconds}): need limit >= 1 and seconds > 0")
        self.windows: tuple[tuple[int, float], ...] = tuple((int(n), float(s)) for n, s in windows)
        self._clock = clock
        self._sleep = sleep
        self._observe = observe
        self._horizon = max(seconds for _, seconds in self.windows)
        self._calls: deque[float] = deque(maxlen=max(limit for limit, _ in self.windows))
        self._lock = threading.Lock()
        self.waits = 0  # acquisitions that had to sleep
        self.waited = 0.0  # total seconds slept

    def _delay(self, now: float) -> float:
        """Seconds until one more call fits every window (0 when it fits now). Lock held."""
        while self._calls and self._calls[0] <= now - self._horizon:
            self._calls.popleft()
        delay = 0.0
        for limit, seconds in self.windows:
            if len(self._calls) >= limit:
                # the call that must leave the window before one more fits
                blocking = self._calls[len(self._calls) - limit]
                delay = max(delay, blocking + seconds - now)
        return delay

    def delay(self) -> float:
        """Seconds a call made now would wait (0 when it would go straight through)."""
        with self._lock:
            return max(self._delay(self._clock()), 0.0)

    def acquire(self) -> float:
        """Block until a call fits every window, record it; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    self._calls.append(now)
                    if waited:
                        self.waits += 1
                        self.waited += waited
                    break
            pause = max(delay, MIN_SLEEP)
            self._sleep(pause)  # outside the lock: other threads may check meanwhile
            waited += pause
        if self._observe is not None:
            self._observe(waited)
        return waited

    def __enter__(self) -> SlidingWindowLimiter:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class PermissionCache:
    """Thread-safe TTL cache of collaborator roles keyed by (repository, login), both
    case-insensitive. Per process."""

    def __init__(self, ttl: float = 60.0, *, maxsize: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._cache: TTLCache[tuple[str, str], str] = TTLCache(maxsize=maxsize, ttl=ttl, timer=clock)
        self._lock = threading.Lock()

    @staticmethod
    def key(repo: object, login: str) -> tuple[str, str]:
        """The cache key of ``login`` on ``repo`` (``owner/name``)."""
        return str(repo).lower(), login.lower()

    def get(self, repo: object, login: str) -> str | None:
        """The cached role, or None when absent or expired."""
        with self._lock:
            return self._cache.get(self.key(repo, login))

    def put(self, repo: object, login: str, role: str) -> None:
        """Remember ``role`` for ``ttl`` seconds."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._cache[self.key(repo, login)] = role

    def forget(self, repo: object, login: str | None = None) -> None:
        """Drop one login's entry, or every entry of ``repo`` when ``login`` is None."""
        with self._lock:
            if login is not None:
                self._cache.pop(self.key(repo, login), None)
                return
            name = str(repo).lower()
            for key in [k for k in self._cache if k[0] == name]:
                self._cache.pop(key, None)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._cache.clear()
