"""The content-creation limiter's sliding windows and the permission cache, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from bot.github.limits import DEFAULT_CONTENT_LIMITS, PermissionCache, SlidingWindowLimiter
from tests.fixtures.clocks import FakeClock


def limiter(clock: FakeClock, windows: tuple[tuple[int, float], ...] = DEFAULT_CONTENT_LIMITS,
            ) -> SlidingWindowLimiter:
    """A limiter on the fake clock."""
    return SlidingWindowLimiter(windows, clock=clock, sleep=clock.sleep)


def test_defaults_are_github_secondary_limits() -> None:
    assert SlidingWindowLimiter().windows == ((80, 60.0), (500, 3600.0))


def test_allows_80_a_minute_then_waits_for_the_oldest_to_leave() -> None:
    clock = FakeClock()
    limits = limiter(clock)
    for _ in range(80):  # one every half second: 0.0 … 39.5
        assert limits.acquire() == 0.0
        clock.advance(0.5)
    assert clock.now == 40.0 and not clock.sleeps
    assert limits.delay() == 20.0
    assert limits.acquire() == 20.0  # until the call made at 0.0 leaves the minute
    assert clock.now == 60.0
    assert limits.acquire() == 0.5  # the next oldest, made at 0.5
    assert clock.sleeps == [20.0, 0.5]
    assert (limits.waits, limits.waited) == (2, 20.5)


def test_the_hour_window_binds_when_the_minute_one_does_not() -> None:
    clock = FakeClock()
    limits = limiter(clock)
    for _ in range(500):  # one a second: never 80 in a minute
        assert limits.acquire() == 0.0
        clock.advance(1.0)
    assert clock.now == 500.0
    assert limits.acquire() == 3100.0  # the call made at 0 leaves the hour at 3600
    assert clock.now == 3600.0 and clock.sleeps == [3100.0]


def test_a_call_is_admitted_exactly_when_the_window_has_slid() -> None:
    clock = FakeClock()
    limits = limiter(clock, ((2, 10.0),))
    limits.acquire()
    limits.acquire()
    clock.advance(10.0)
    assert limits.delay() == 0.0 and limits.acquire() == 0.0


def test_delay_does_not_take_a_slot_and_observe_sees_every_call() -> None:
    clock = FakeClock()
    seen: list[float] = []
    limits = SlidingWindowLimiter(((1, 5.0),), clock=clock, sleep=clock.sleep, observe=seen.append)
    assert limits.delay() == 0.0 and limits.delay() == 0.0
    with limits:
        pass
    limits.acquire()
    assert seen == [0.0, 5.0]


@pytest.mark.parametrize("windows", [(), ((0, 60.0),), ((5, 0.0),)])
def test_bad_windows_are_refused(windows: tuple[tuple[int, float], ...]) -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(windows)


def test_threads_sharing_a_limiter_never_exceed_a_window() -> None:
    windows = ((3, 1.0), (5, 10.0))
    clock = FakeClock()
    local = threading.local()

    def reading_clock() -> float:  # the limiter reads the clock once per try, under its lock
        local.last = clock()
        return local.last

    limits = SlidingWindowLimiter(windows, clock=reading_clock, sleep=clock.sleep)
    admitted: list[float] = []
    record = threading.Lock()

    def worker() -> None:
        for _ in range(4):
            limits.acquire()
            with record:
                admitted.append(local.last)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(admitted) == 24
    admitted.sort()
    for limit, seconds in windows:
        for start in admitted:
            inside = [t for t in admitted if start <= t < start + seconds]
            assert len(inside) <= limit, (limit, seconds, start, inside)
    assert limits.waits > 0 and admitted[-1] >= 40.0  # 24 calls at 5 per 10 s take ≥ 40 s


def test_permission_cache_is_case_insensitive_and_expires() -> None:
    clock = FakeClock()
    cache = PermissionCache(60.0, clock=clock)
    cache.put("octo/hello", "Bob", "write")
    assert cache.get("Octo/Hello", "bOB") == "write"
    assert cache.get("octo/hello", "carol") is None and cache.get("octo/other", "bob") is None
    clock.advance(59.0)
    assert cache.get("octo/hello", "bob") == "write"
    clock.advance(1.0)
    assert cache.get("octo/hello", "bob") is None


def test_permission_cache_forgets_one_login_or_a_repository() -> None:
    cache = PermissionCache(60.0, clock=FakeClock())
    for login in ("bob", "carol"):
        cache.put("octo/hello", login, "write")
    cache.put("octo/other", "bob", "admin")
    cache.forget("octo/hello", "BOB")
    assert cache.get("octo/hello", "bob") is None and cache.get("octo/hello", "carol") == "write"
    cache.forget("OCTO/hello")
    assert cache.get("octo/hello", "carol") is None and cache.get("octo/other", "bob") == "admin"
    cache.clear()
    assert cache.get("octo/other", "bob") is None


def test_a_zero_ttl_caches_nothing() -> None:
    cache = PermissionCache(0.0)
    cache.put("octo/hello", "bob", "write")
    assert cache.get("octo/hello", "bob") is None
