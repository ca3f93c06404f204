"""The environment cache: reuse, one build for concurrent callers, LRU eviction under a cap that spares
environments in use."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipelines.environments import Environment, EnvironmentCache, EnvironmentRequest
from pipelines.sandbox import Isolation

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # real uv builds (of one small wheel each)


def six(version: str) -> EnvironmentRequest:
    return EnvironmentRequest(source="test", requirements=(f"six=={version}",))


def test_a_second_use_reuses_the_environment(small_env_cache: EnvironmentCache) -> None:
    with small_env_cache.use(six("1.16.0"), None, "base") as first:
        assert first.built and first.log
    with small_env_cache.use(six("1.16.0"), None, "base") as second:
        assert (second.built, second.log, second.path) == (False, (), first.path)
        assert second.seconds < 0.3
    with small_env_cache.use(six("1.16.0"), None, "fork:someone/fork") as forked:
        assert forked.built and forked.path != first.path  # a fork never shares the base's environment


def test_concurrent_uses_of_a_new_environment_build_it_once(small_env_cache: EnvironmentCache) -> None:
    results: list[Environment] = []
    barrier = threading.Barrier(2)

    def use() -> None:
        barrier.wait()
        with small_env_cache.use(six("1.17.0"), None, "base") as env:
            results.append(env)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(env.built for env in results) == [False, True]
    assert results[0].path == results[1].path


def test_least_recently_used_environments_are_evicted_but_not_those_in_use(tmp_path: Path,
                                                                           uv_cache: Path) -> None:
    uncapped = EnvironmentCache(tmp_path / "envs", None, Isolation.BWRAP, uv_cache=uv_cache, runtime=())
    with uncapped.use(six("1.15.0"), None, "base"):
        one_environment = uncapped.total_bytes()
    cap = int(one_environment * 1.5)
    cache = EnvironmentCache(tmp_path / "envs", cap, Isolation.BWRAP, uv_cache=uv_cache, runtime=())
    with cache.use(six("1.15.0"), None, "base") as older, cache.use(six("1.16.0"), None, "base") as newer:
        assert not older.built
        assert older.path.is_dir() and newer.path.is_dir()  # over the cap, but both are in use
    assert cache.evict() == [older.key]  # the least recently used goes once it is free
    with cache.use(six("1.17.0"), None, "base") as newest:
        assert newest.built
    assert (older.path.exists(), newer.path.exists(), newest.path.is_dir()) == (False, False, True)
    assert cache.total_bytes() <= cap
