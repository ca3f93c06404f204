"""The package list written into an environment at build time: runs read it instead of asking uv, it is
written without following what a build left at its name, and environments without one still get asked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.environments import EnvironmentCache, EnvironmentRequest, recorded_requirements
from pipelines.environments.frozen import FROZEN_FILE, freeze, read_frozen, write_frozen


def _symlink_to_outside(entry: Path, outside: Path) -> None:
    entry.symlink_to(outside)


def _directory(entry: Path, outside: Path) -> None:
    (entry / "nested").mkdir(parents=True)


def _stale_file(entry: Path, outside: Path) -> None:
    entry.write_text("six==0.0.1\n")


@pytest.mark.parametrize("plant", [_symlink_to_outside, _directory, _stale_file])
def test_writing_replaces_whatever_a_build_left_at_the_name(tmp_path: Path,
                                                           plant: Callable[[Path, Path], None]) -> None:
    env_dir, outside = tmp_path / "env", tmp_path / "app-secret.txt"
    env_dir.mkdir()
    outside.write_text("untouched\n")
    plant(env_dir / FROZEN_FILE, outside)
    write_frozen(env_dir, ["numpy==2.4.6", "six==1.16.0"])
    entry = env_dir / FROZEN_FILE
    assert entry.is_file() and not entry.is_symlink()
    assert read_frozen(env_dir) == ["numpy==2.4.6", "six==1.16.0"]
    assert outside.read_text() == "untouched\n"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda env, outside: None, None),  # built before the list existed
        (lambda env, outside: (env / FROZEN_FILE).symlink_to(outside), None),  # never followed
        (lambda env, outside: (env / FROZEN_FILE).write_text("a==1\n\nb==2\n"), ["a==1", "", "b==2"]),
    ],
)
def test_reading(tmp_path: Path, make: Callable[[Path, Path], object], expected: list[str] | None) -> None:
    env_dir, outside = tmp_path / "env", tmp_path / "outside.txt"
    env_dir.mkdir()
    outside.write_text("secret==1\n")
    make(env_dir, outside)
    assert read_frozen(env_dir) == expected


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_a_build_lists_its_packages_and_runs_read_the_list(env_cache: EnvironmentCache) -> None:
    request = EnvironmentRequest(source="test", requirements=("six==1.16.0",))
    with env_cache.use(request, None, "base") as env:
        listed = read_frozen(env.path)
        asked = freeze(env.path, env.runtime, env_cache.settings.isolation)
        assert listed == asked and "six==1.16.0" in listed
        assert "$ uv pip freeze" in env.log
        pins = recorded_requirements(env, request)
        assert "six==1.16.0" in pins and not [pin for pin in pins if pin.startswith("pydantic")]

        # a run takes the list as written (it does not ask uv) ...
        write_frozen(env.path, [*asked, "tomli-w==1.0.0"])
        assert recorded_requirements(env, request) == [*pins, "tomli-w==1.0.0"]
        # ... and an environment without one is asked
        os.unlink(env.path / FROZEN_FILE)
        assert recorded_requirements(env, request) == pins
