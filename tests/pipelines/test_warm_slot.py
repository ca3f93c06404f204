"""Which runs a warm job may serve (``warm_key``: a table), moving a checkout into a warm job's slot and back
(real folders), and the hand-over line a warm job reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.job.run import JobSpec
from pipelines.job.warm import hand_over_line, preload, read_hand_over
from pipelines.job_process import JobPolicy
from pipelines.ray_jobs import RayTarget
from pipelines.runtimes import JobRuntime, default_runtime
from pipelines.sandbox import Isolation
from pipelines.warm_job import WarmJob, warm_key, warm_policy

APP = default_runtime()
REPOSITORY_ENV = JobRuntime(Path("/envs/abc/bin/python"), (Path("/envs/abc"),), (), "3.11", "its own", "abc")
RAY = RayTarget("http://head:8265", "/mnt/ray")


@pytest.mark.parametrize(("policy", "runtime", "served"), [
    (JobPolicy(), APP, True),
    (JobPolicy(memory_mb=4096, network=True), APP, True),
    (JobPolicy(env={"TOKEN": "x"}), APP, True),  # secrets come at the hand-over: no part of the key
    (JobPolicy(isolation=Isolation.NONE), APP, False),
    (JobPolicy(ray=RAY), APP, False),
    (JobPolicy(), REPOSITORY_ENV, False),  # a repository's own environment: its job starts fresh
])
def test_which_runs_a_warm_job_can_serve(policy: JobPolicy, runtime: JobRuntime, served: bool) -> None:
    assert (warm_key(policy, runtime) is not None) is served
    assert (warm_policy(policy) is not None) is (policy.isolation == Isolation.BWRAP and policy.ray is None)


@pytest.mark.parametrize(("started_for", "asked_by", "same"), [
    (JobPolicy(), JobPolicy(env={"TOKEN": "x"}), True),
    (JobPolicy(), JobPolicy(memory_mb=4096), False),
    (JobPolicy(memory_mb=4096), JobPolicy(memory_mb=2048), False),
    (JobPolicy(), JobPolicy(network=True), False),
])
def test_a_warm_job_serves_only_the_sandbox_it_was_started_for(
    started_for: JobPolicy, asked_by: JobPolicy, same: bool
) -> None:
    assert (warm_key(started_for, APP) == warm_key(asked_by, APP)) is same


def test_the_checkout_moves_into_the_slot_and_back_with_what_the_job_wrote(tmp_path: Path) -> None:
    repo = tmp_path / "src"
    (repo / "pkg").mkdir(parents=True)
    (repo / "data.py").write_text("rows = 1\n")
    (repo / "pkg" / "model.py").write_text("fit = 1\n")
    warm = WarmJob(tmp_path / "slot", JobPolicy(), APP)
    warm.checkout.mkdir(parents=True)

    with warm.holding(repo) as checkout:
        assert checkout == warm.checkout and list(repo.iterdir()) == []
        assert (checkout / "pkg" / "model.py").read_text() == "fit = 1\n"
        (checkout / "written-by-the-job.txt").write_text("hello")

    assert sorted(p.name for p in repo.iterdir()) == ["data.py", "pkg", "written-by-the-job.txt"]
    assert list(warm.checkout.iterdir()) == []


def test_a_checkout_that_cannot_move_stays_where_it_is(tmp_path: Path) -> None:
    repo = tmp_path / "src"
    repo.mkdir()
    (repo / "data.py").write_text("rows = 1\n")
    warm = WarmJob(tmp_path / "slot", JobPolicy(), APP)  # its folders were never made

    with pytest.raises(OSError), warm.holding(repo):
        pass

    assert [p.name for p in repo.iterdir()] == ["data.py"]


def test_the_hand_over_line_carries_the_spec_and_secrets() -> None:
    spec = JobSpec(Path("/slot/repo"), "staging", Path("/slot/out"), Path("/slot/champion"))

    assert read_hand_over(hand_over_line(spec, {"TOKEN": "x"}).decode()) == (spec, {"TOKEN": "x"})
    with pytest.raises(ValueError):
        read_hand_over('{"spec": "{}", "env": {"TOKEN": 1}}')



def test_preloading_skips_what_the_environment_lacks_and_stops_when_the_run_arrives() -> None:
    assert preload(("json", "no_such_module_anywhere", "csv")) == ["no_such_module_anywhere"]
    calls: list[int] = []

    def arrived_after_one() -> bool:
        calls.append(1)
        return len(calls) > 1

    assert preload(("json", "no_such_module_anywhere"), stop=arrived_after_one) == []
