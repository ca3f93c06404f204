"""Repositories with their own dependencies, end to end: a model that needs LightGBM (declared only in
its ``requirements.txt``, a package the App does not ship) passes ``modelgate run staging``, and through
the App passes staging, merges and is promoted with its environment's pins; PRs with other
requirements run side by side in their own environments; the champion is evaluated in its own.

Environments are built with uv from the package index (the network phase of the build) into a cache
shared by the whole test run, as an App's data dir keeps them.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bot.cli import main as cli_main
from bot.server import Services
from bot.store import RunRecord
from pipelines.job_process import EnvironmentSettings, JobPolicy
from pipelines.model_files import copy_model_files
from pipelines.scoring_server import ModelServer
from pipelines.tracking import MODEL_URI_TAG, SAMPLE_ARTIFACT, Tracker
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(__file__).parent / "fixtures" / "repos" / "wine-lightgbm"
OWNER, NAME, MODEL = "acme", "wine-lightgbm", "wine-lightgbm"
FULL = f"{OWNER}/{NAME}"
# The model module imports tomli_w, so unpickling the model needs it: only its own environment has it.
WITH_TOMLI = (REPO / "model.py").read_text().replace("import lightgbm\n", "import lightgbm\nimport tomli_w\n")
TOMLI_REQUIREMENTS = (REPO / "requirements.txt").read_text() + "tomli-w==1.0.0\n"


def pins(tracking_uri: str, version: int, folder: Path) -> list[str]:
    """The requirements recorded with a registered version's model."""
    files = copy_model_files(f"models:/{MODEL}/{version}", tracking_uri, folder)
    return (files / "requirements.txt").read_text().split()


def test_modelgate_run_builds_the_repository_environment(
    tmp_path: Path, shared_environments: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkout = tmp_path / "wine-lightgbm"
    shutil.copytree(REPO, checkout)
    monkeypatch.setenv("MODELGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MODELGATE_ENV_CACHE_DIR", str(shared_environments))
    assert cli_main(["run", "staging", str(checkout), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["status"] == "passed", shown
    tracker = Tracker(f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}")
    experiment = tracker.client.get_experiment_by_name(f"modelgate/{MODEL}")
    [run] = tracker.client.search_runs([experiment.experiment_id])
    assert run.data.tags["modelgate.environment"] != "default"
    model_uri = run.data.tags[MODEL_URI_TAG]  # the logged model, files beside its pickle
    folder = copy_model_files(model_uri, tracker.tracking_uri, tmp_path / "model")
    recorded = (folder / "requirements.txt").read_text().split()
    assert "lightgbm==4.7.0" in recorded and not any(p.startswith("pydantic") for p in recorded)

    # served, the model loads: its scoring server runs in its recorded environment (plus MLflow's app)
    policy = JobPolicy(environments=EnvironmentSettings(shared_environments))
    server = ModelServer(model_uri, tracker.tracking_uri, tmp_path / "serve-logs", policy)
    try:
        server.wait_healthy()
        sample = Path(tracker.client.download_artifacts(run.info.run_id, SAMPLE_ARTIFACT, str(tmp_path)))
        rows = pd.read_json(io.StringIO(sample.read_text()), orient="split")
        assert len(server.predict(rows.head(3))) == 3
    finally:
        server.stop()


class App:
    def __init__(self, sandbox: SandboxHandle, services: Services) -> None:
        self.github, self.services = sandbox.client, services
        self.github.create_repo(OWNER, NAME, path=REPO)
        self.github.set_protection(OWNER, NAME, [])

    def open_pr(self, branch: str, files: dict[str, str | None]) -> int:
        self.github.commit(OWNER, NAME, files, branch=branch, author="ada")
        return int(self.github.open_pull(OWNER, NAME, branch, author="ada", title=branch)["number"])

    def staging(self, pr: int) -> RunRecord:
        [run] = wait_for_runs(self.services, lambda r: r.kind == "staging" and r.pr_number == pr, 1,
                              timeout=600)
        return run

    def check(self, sha: str | None) -> dict[str, Any]:
        [check] = [c for c in self.github.state()["check_runs"]
                   if c["head_sha"] == sha and c["name"] == "modelgate / staging"]
        return dict(check)


@pytest.fixture
def app(sandbox: SandboxHandle, tmp_path: Path, shared_environments: Path) -> Iterator[App]:
    with running_app(sandbox, tmp_path, env_cache_dir=str(shared_environments)) as services:
        yield App(sandbox, services)


def test_prs_with_their_own_requirements_pass_merge_and_the_champion_keeps_its_environment(app: App) -> None:
    tracking_uri = str(app.services.settings.mlflow_tracking_uri)
    # two PRs at once: one in the repository's environment, one with an extra package of its own
    tuned = app.open_pr("tuned", {"NOTES.md": "same requirements\n"})
    extra = app.open_pr("extra", {"requirements.txt": TOMLI_REQUIREMENTS, "model.py": WITH_TOMLI})
    runs = {pr: app.staging(pr) for pr in (tuned, extra)}
    for run in runs.values():
        assert run.state == "succeeded" and run.result is not None, (run.error, run.result)
        assert run.result["status"] == "passed", run.result
        assert "requirements.txt (Python 3.11" in str(run.result["environment"])
        output = app.check(run.head_sha)["output"]
        assert "Environment:" in f"{output['summary']} {output['text']}"
    tracker = Tracker(tracking_uri)
    keys = {tracker.client.get_run(str(run.result["mlflow_run_id"])).data.tags["modelgate.environment"]
            for run in runs.values()}
    assert len(keys) == 2  # each in its own environment

    merged = app.github.merge(OWNER, NAME, extra, author="maintainer")
    [production] = wait_for_runs(app.services, lambda r: r.kind == "production" and r.trigger ==
                                 "pull_request.merged" and r.head_sha == merged["sha"], 1, timeout=600)
    assert production.result is not None, production.error
    assert production.result["production"]["state"] == "promoted", production.result
    recorded = pins(tracking_uri, 1, app.services.settings.data_dir / "champion-files")
    assert "lightgbm==4.7.0" in recorded and "tomli-w==1.0.0" in recorded

    # a PR without tomli-w: the champion (whose model imports it) is evaluated in its own environment
    back = app.open_pr("back", {"requirements.txt": (REPO / "requirements.txt").read_text(),
                                "model.py": (REPO / "model.py").read_text()})
    run = app.staging(back)
    assert run.result is not None and run.result["champion_error"] is None, run.result
    assert run.result["champion_version"] == 1 and run.result["metrics"]["champion"]["accuracy"] > 0.8
    assert run.result["metrics"]["champion"]["model_size_mb"] > 0  # measured before its job replaced them
