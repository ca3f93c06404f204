"""``prepare_tracking_store``: the MLflow store is created once, under a lock, whoever asks first.

Without the lock, four processes opening one fresh SQLite store at once fail in most tries
(``duplicate column name: step``, ``table … already exists``): MLflow migrates an empty
database as it opens it, with no lock of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from pipelines.tracking import TELEMETRY_OFF
from pipelines.tracking_store import _file_lock, prepare_tracking_store
from tests.fixtures.db import make_engine_for
from tests.fixtures.standin import SandboxHandle, running_app

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
# argv: tracking URI, barrier directory, this process's number. Everyone imports MLflow first and
# waits at the barrier, so the four reach the empty store together.
FIRST_RUN = """
import json, sys, time
from pathlib import Path
uri, barrier, me = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
from pipelines.tracking_store import prepare_tracking_store
from mlflow import MlflowClient
(barrier / me).touch()
deadline = time.monotonic() + 60
while len(list(barrier.iterdir())) < int(sys.argv[4]) and time.monotonic() < deadline:
    time.sleep(0.005)
prepare_tracking_store(uri)
client = MlflowClient(uri, uri)
experiment = client.create_experiment(f"first-run-{me}", artifact_location=(barrier.parent / me).as_uri())
run = client.create_run(experiment)
client.log_metric(run.info.run_id, "accuracy", 0.9)
client.set_terminated(run.info.run_id)
print(json.dumps({"run": run.info.run_id}))
"""


def _tracking_uri(db_url: str, tmp_path: Path) -> str:
    """A fresh MLflow store: a SQLite file in a folder that does not exist yet, or the test's schema."""
    if make_url(db_url).get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"
    return db_url


@pytest.mark.e2e  # four processes importing MLflow, ~10 s (PostgreSQL's migrations: ~30 s)
@pytest.mark.timeout(300)
def test_first_runs_at_once_on_a_fresh_store_all_succeed(db_url: str, tmp_path: Path) -> None:
    uri = _tracking_uri(db_url, tmp_path)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, **TELEMETRY_OFF, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_RUN, uri, str(barrier), str(n), str(PROCESSES)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(PROCESSES)
    ]
    outputs = [proc.communicate(timeout=280) for proc in procs]
    failed = [err for proc, (_, err) in zip(procs, outputs, strict=True) if proc.returncode != 0]
    assert failed == [], failed[0][-3000:] if failed else ""
    runs = {json.loads(out.strip().splitlines()[-1])["run"] for out, _ in outputs}
    assert len(runs) == PROCESSES
    check = make_engine_for(uri, migrated=False)
    with check.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar() == PROCESSES
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    if uri.startswith("sqlite:"):
        assert (tmp_path / "data" / "mlflow.db.lock").exists()


@pytest.mark.e2e  # MLflow's migrations, twice (~4 s)
def test_a_store_of_an_older_mlflow_is_upgraded(tmp_path: Path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from mlflow.store.db import utils as db_utils
    from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase  # before any migration

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    engine = db_utils.create_sqlalchemy_engine_with_retry(uri)
    config = db_utils._get_alembic_config(uri)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    older = next(r.revision for r in script.walk_revisions() if r.revision != head and r.down_revision)
    InitialBase.metadata.create_all(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, older)
    assert db_utils._get_schema_version(engine) == older

    prepare_tracking_store(uri)

    assert db_utils._get_schema_version(engine) == head
    engine.dispose()


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:1", "databricks", "file:///tmp/mlruns", "sqlite://", "sqlite:///:memory:"]
)
def test_stores_private_to_a_process_or_behind_a_server_need_nothing(uri: str) -> None:
    prepare_tracking_store(uri)  # no connection, no MLflow import, no error


def test_the_file_lock_makes_a_second_process_wait(tmp_path: Path) -> None:
    lock = tmp_path / "nested" / "mlflow.db.lock"
    acquired = threading.Event()

    def second() -> None:
        with _file_lock(lock):  # flock is per open file: another open of the file waits like a process
            acquired.set()

    with _file_lock(lock):
        assert lock.exists()
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.2)
        assert not acquired.is_set()
    waiter.join(timeout=5)
    assert acquired.is_set()


@pytest.mark.e2e  # the App with a worker, and MLflow's migrations (~5 s)
def test_an_app_with_workers_prepares_the_store_before_its_first_run(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    with running_app(sandbox, tmp_path, workers=1) as services:
        uri = str(services.settings.mlflow_tracking_uri)
        check = make_engine_for(uri, migrated=False)
        with check.connect() as conn:  # no run has started: the App created the schema itself
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        check.dispose()
        assert services.runs.list_runs(limit=10) == []
