"""A hostile pull request, end to end (issue 12): a collaborator's same-repository PR whose data and
train functions try to take the App's key and secrets, tamper with its databases and MLflow registry,
edit another run's checkout, reach the App and the network, leave a process behind and print the
repository's job secret. The stand-in sends the real webhooks, ``serve`` runs the job in bubblewrap;
the attempts are read back from the published log, and everything else from outside the sandbox.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.hostile_job import SECRET_PROBE
from tests.fixtures.hostile_repo import hostile_files
from tests.fixtures.hostile_world import SECRET_NAME, World, assert_contained

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_a_hostile_pr_reaches_nothing_of_the_app_and_gets_its_normal_verdict(world: World) -> None:
    world.create_repo()
    champion = world.seed_champion()
    registry = world.registry()
    store_db, mlflow_db = world.data_dir / "modelgate.db", world.data_dir / "mlflow.db"
    tables = world.tables(store_db), world.tables(mlflow_db)
    targets = world.hostile_targets()

    sha, pr = world.open_pr(hostile_files(targets), branch="innocent-tuning")
    [run] = world.wait(sha)

    # the run itself is normal: the example's model, judged against the same champion, passes
    assert run.state == "succeeded" and run.result is not None, run.error
    assert run.result["verdict"] == "passed", run.result
    assert world.final_status(sha)["state"] == "success"
    check = world.check(sha)
    assert check["conclusion"] == "success"
    assert "not isolated" not in json.dumps(check["output"])

    log = world.published_log(pr)
    tried = {(a["stage"], a["attack"]): a for a in assert_contained(world, targets, log)}
    # what only the host can judge did happen inside: the job started its processes, got its
    # secret (its own branch) and planted its links; the checks above saw none of it escape
    started = tried["data", "leave-processes-behind"]["detail"]
    assert started.startswith(f"started sleep {targets.sleep_seconds}")
    assert tried["data", "print-job-secrets"]["detail"] == f"printed ['{SECRET_NAME}: set']"
    assert not tried["data", "plant-symlinks"]["detail"].startswith("planted 0 ")

    for stream in ("", "stderr ", "logging "):  # stdout, stderr and the logging module, all masked
        assert f"{SECRET_PROBE} {stream}{SECRET_NAME}=***" in log
    assert world.job_secret not in log

    # nothing changed in the App's store and registry
    assert (world.tables(store_db), world.tables(mlflow_db)) == tables
    assert world.registry() == registry
    assert registry["wine-classifier"]["aliases"] == {"champion": champion}
