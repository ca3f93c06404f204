"""Production end to end: PRs merged on the stand-in send real ``pull_request.closed`` and ``push``
webhooks; ``serve`` runs the real production pipeline, promotes in a real MLflow registry, deploys
(mlflow-serve, command) and records GitHub Deployments; assertions read the stand-in, MLflow and
the served model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pipelines
from bot.cli import main as cli_main
from bot.server import Services
from bot.store import JobRequest, ProductionJob, RollbackJob, RunRecord
from pipelines.serving import free_port
from pipelines.tracking import Tracker
from tests.fixtures.example_repo import predict
from tests.fixtures.registry import registry_aliases, registry_tags
from tests.fixtures.standin import SandboxHandle, running_app, wait_for_runs

pytestmark = pytest.mark.e2e

EXAMPLES = Path(pipelines.__file__).parent / "examples"
EXAMPLE = EXAMPLES / "wine-classifier"
BETTER_MODEL = (EXAMPLES / "wine-variants" / "better_model.py").read_text()
WORSE_MODEL = (EXAMPLES / "wine-variants" / "worse_model.py").read_text()
OWNER, NAME, MODEL = "acme", "wine-classifier", "wine-classifier"
COPY = "wine-copy"  # another repository of the same model name
FULL = f"{OWNER}/{NAME}"
MARKER = "<!-- modelgate:production -->"
LENIENT = "  production:\n    - {metric: accuracy, min: 0.5}\n"  # any sane model is promoted
# A deploy command runs isolated (it can write only its checkout): what it saw comes back in its
# last output line, which the outcome shows.
DEPLOY_SCRIPT = """import json, os

seen = {key: os.environ[key] for key in ("MODEL_URI", "MODEL_VERSION")}
seen["files"] = sorted(os.listdir(os.environ["MODEL_DIR"]))
print("deployed", json.dumps(seen, sort_keys=True))
"""

def config(deploy: str = "", gates: str | None = None, extra: str = "") -> str:
    """The example's .modelgate.yml with a deploy section (and other production gates)."""
    text = (EXAMPLE / ".modelgate.yml").read_text()
    if gates is not None:
        head, _, _ = text.partition("  production:\n")
        text = head + gates + "timeout_seconds: 300\n"
    return text + deploy + extra


class Production:
    def __init__(self, sandbox: SandboxHandle, services: Services, serve_port: int) -> None:
        self.sandbox, self.services, self.github = sandbox, services, sandbox.client
        self.serve_port = serve_port  # the one port the App allows mlflow-serve (MODELGATE_SERVE_PORTS)
        self.branches = 0

    def create(self, files: dict[str, str]) -> None:
        self.github.create_repo(OWNER, NAME, path=EXAMPLE, files=files)
        self.github.set_protection(OWNER, NAME, [])  # merge without waiting for staging

    def merge(self, files: dict[str, str | None]) -> tuple[int, str]:
        """Open a PR with ``files`` and merge it at once (staging needs no verdict here)."""
        self.branches += 1
        branch = f"change-{self.branches}"
        self.github.commit(OWNER, NAME, files, branch=branch, author="ada")
        pull = self.github.open_pull(OWNER, NAME, branch, author="ada", title=branch)
        merged = self.github.merge(OWNER, NAME, int(pull["number"]), author="maintainer")
        return int(pull["number"]), str(merged["sha"])

    def runs(self, kind: str = "production") -> list[RunRecord]:
        return sorted(self.services.runs.list_runs(repository=FULL, kind=kind), key=lambda r: r.id)

    def wait_sha(self, sha: str, count: int = 1) -> list[RunRecord]:
        """The production runs of commit ``sha`` once ``count`` of them exist and all finished."""
        return wait_for_runs(self.services, lambda r: r.kind == "production" and r.head_sha == sha, count,
                             timeout=180)

    def merge_run(self, runs: list[RunRecord], sha: str) -> RunRecord:
        [run] = [r for r in runs if r.head_sha == sha and r.trigger == "pull_request.merged"]
        return run

    def state(self) -> dict[str, Any]:
        return self.github.state()

    def status(self, sha: str) -> dict[str, Any]:
        found = [s for s in self.state()["statuses"] if s["sha"] == sha]
        return [s for s in found if s["context"] == "modelgate/production"][-1]

    def check(self, sha: str) -> dict[str, Any]:
        [check] = [c for c in self.state()["check_runs"]
                   if c["head_sha"] == sha and c["name"] == "modelgate / production"]
        return check

    def comment(self, pr: int) -> str:
        [body] = [c["body"] for c in self.state()["comments"]
                  if c["issue_number"] == pr and MARKER in c["body"]]
        return str(body)

    def deployments(self) -> list[tuple[dict[str, Any], list[str]]]:
        state = self.state()
        return [(d, [s["state"] for s in state["deployment_statuses"] if s["deployment_id"] == d["id"]])
                for d in state["deployments"]]

    def aliases(self) -> dict[str, int]:
        return registry_aliases(str(self.services.settings.mlflow_tracking_uri), MODEL)

    def version_tags(self, version: int) -> dict[str, str]:
        return registry_tags(str(self.services.settings.mlflow_tracking_uri), MODEL, version)


@pytest.fixture
def production(
    sandbox: SandboxHandle, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Production]:
    """The App on the sandbox; ``indirect`` parametrization passes it more settings."""
    serve_port = free_port()
    settings = {"serve_ports": str(serve_port), **getattr(request, "param", {})}
    with running_app(sandbox, tmp_path, **settings) as services:
        yield Production(sandbox, services, serve_port)


def test_a_merge_is_promoted_and_served_and_a_worse_one_is_not(production: Production) -> None:
    serve_port = production.serve_port
    production.create({".modelgate.yml": config(f"deploy: {{kind: mlflow-serve, port: {serve_port}}}\n")})
    pr, sha = production.merge({"model.py": BETTER_MODEL})
    run = production.merge_run(production.wait_sha(sha, 2), sha)  # and the merge's push, skipped
    assert run.state == "succeeded" and run.result is not None
    outcome = run.result["production"]
    assert (outcome["state"], outcome["version"]) == ("promoted", 1)
    assert outcome["outcome"].startswith("promoted as version 1; version 1 serves on")
    [push_run] = [r for r in production.runs() if r.trigger == "push" and r.head_sha == sha]
    assert push_run.state == "cancelled" and push_run.error == "push: production.on_push is off"
    assert production.aliases() == {"champion": 1}
    tags = production.version_tags(1)
    assert (tags["modelgate.merge_sha"], tags["modelgate.pr"]) == (sha, str(pr))
    assert tags["modelgate.repository"] == FULL
    assert tags["modelgate.merged_by"] == "maintainer" and "modelgate.metric.accuracy" in tags
    assert tags["modelgate.run_id"] and tags["modelgate.config_hash"]
    assert production.status(sha)["state"] == "success"
    assert production.status(sha)["description"].startswith("promoted as version 1")
    check = production.check(sha)
    assert (check["conclusion"], check["output"]["title"]) == ("success", "Promoted as version 1")
    assert check["output"]["summary"].startswith("**promoted as version 1; version 1 serves on")
    assert "promoted as version 1" in production.comment(pr)
    [(deployment, states)] = production.deployments()
    assert (deployment["sha"], deployment["environment"]) == (sha, "production")
    assert deployment["payload"]["model"] == MODEL and deployment["payload"]["version"] == 1
    assert states == ["in_progress", "success"]
    assert predict(serve_port) in ([0], [1], [2])

    worse_pr, worse_sha = production.merge({"model.py": WORSE_MODEL})
    worse = production.merge_run(production.wait_sha(worse_sha, 2), worse_sha)
    assert worse.result is not None and worse.result["production"]["state"] == "rejected"
    assert worse.result["champion_version"] == 1
    assert production.aliases() == {"champion": 1}
    assert production.status(worse_sha)["state"] == "failure"
    assert production.check(worse_sha)["conclusion"] == "failure"
    assert "not promoted: " in production.comment(worse_pr)
    assert len(production.deployments()) == 1
    assert predict(serve_port) in ([0], [1], [2])  # the old server keeps answering


def test_a_failed_deploy_puts_the_champion_back(production: Production) -> None:
    deploy_ok = f"deploy: {{kind: command, command: '{sys.executable} deploy.py'}}\n"
    production.create({".modelgate.yml": config(deploy_ok, gates=LENIENT), "deploy.py": DEPLOY_SCRIPT,
                       "fail.py": "print('no capacity')\nraise SystemExit(3)\n"})
    _, first_sha = production.merge({"NOTES.md": "first\n"})
    first = production.merge_run(production.wait_sha(first_sha, 2), first_sha)
    assert first.result is not None and first.result["production"]["version"] == 1
    seen = json.loads(first.result["production"]["outcome"].split("deployed ", 1)[1].rstrip("."))
    assert (seen["MODEL_URI"], seen["MODEL_VERSION"]) == (f"models:/{MODEL}/1", "1")
    assert {"MLmodel", "model.pkl"} <= set(seen["files"])

    failing = f"deploy: {{kind: command, command: '{sys.executable} fail.py'}}\n"
    pr, sha = production.merge({"model.py": BETTER_MODEL, ".modelgate.yml": config(failing, gates=LENIENT)})
    run = production.merge_run(production.wait_sha(sha, 2), sha)
    assert run.result is not None and run.result["production"]["state"] == "failed"
    assert production.aliases() == {"champion": 1}
    assert "modelgate.deploy_failed" in production.version_tags(2)
    assert production.status(sha)["state"] == "failure"
    assert production.check(sha)["output"]["title"] == "Deploy failed: champion stays version 1"
    body = production.comment(pr)
    assert "deploying version 2 failed; champion stays version 1" in body
    assert [states for _, states in production.deployments()] == [["in_progress", "success"],
                                                                   ["in_progress", "failure"]]


def test_a_redelivered_or_rerun_merge_promotes_once(production: Production) -> None:
    production.create({".modelgate.yml": config(gates=LENIENT)})
    _, sha = production.merge({"NOTES.md": "once\n"})
    run = production.merge_run(production.wait_sha(sha, 2), sha)
    closed = [d for d in production.state()["deliveries"] if d["event"] == "pull_request"
              and d["action"] == "closed"][-1]
    again = production.github.redeliver(closed["guid"])
    assert again["status"] == 200  # the same delivery: recorded once, nothing queued
    rerun = production.services.runs.enqueue(JobRequest(FULL, None, run.pr_number, sha,
                                                        "check_run.rerequested", ProductionJob()))
    production.services.pool.wake()
    runs = production.wait_sha(sha, 3)
    assert [r.id for r in runs if r.trigger != "push"] == [run.id, rerun.id]
    done = production.services.runs.get(rerun.id)
    assert done is not None and done.result is not None
    assert done.result["production"]["outcome"] == f"already promoted as version 1 (by run {run.id})"
    assert production.aliases() == {"champion": 1}
    assert len(production.deployments()) == 1


def test_racing_merges_promote_in_merge_order_and_roll_back(
    production: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    production.create({".modelgate.yml": config(gates=LENIENT)})
    branches = []
    for index, files in enumerate(({"NOTES.md": "a\n"}, {"model.py": BETTER_MODEL})):
        production.github.commit(OWNER, NAME, files, branch=f"race-{index}", author="ada")
        branches.append(production.github.open_pull(OWNER, NAME, f"race-{index}", author="ada", title="race"))
    merges = [production.github.merge(OWNER, NAME, int(p["number"]), author="maintainer") for p in branches]
    shas = [merge["sha"] for merge in merges]
    first, second = (production.merge_run(production.wait_sha(sha, 2), sha) for sha in shas)
    assert first.result is not None and second.result is not None
    versions = (first.result["production"]["version"], second.result["production"]["version"])
    assert versions == (1, 2), (first.error, first.result, second.error, second.result)
    assert (first.result["champion_version"], second.result["champion_version"]) == (None, 1)
    assert second.started_at is not None and first.finished_at is not None
    assert second.started_at >= first.finished_at  # serialized: one production run of the repo at a time
    assert production.aliases() == {"champion": 2, "previous-champion": 1}

    settings = production.services.settings  # the CLI reads the App's database and tracking store
    monkeypatch.setenv("MODELGATE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MODELGATE_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("MODELGATE_MLFLOW_TRACKING_URI", str(settings.mlflow_tracking_uri))
    assert cli_main(["rollback", MODEL, "--actor", "oncall", "--timeout", "120"]) == 0
    assert production.aliases() == {"champion": 1, "previous-champion": 2}
    assert production.version_tags(1)["modelgate.rolled_back_by"] == "oncall"
    rollback_deployment, states = production.deployments()[-1]
    assert rollback_deployment["sha"] == shas[0] and states == ["in_progress", "success"]
    assert "rollback" in str(rollback_deployment["description"])
    [rollback] = production.runs("rollback")
    assert rollback.state == "succeeded" and rollback.result is not None
    assert (rollback.result["from_version"], rollback.result["to_version"]) == (2, 1)

    pr = int(branches[1]["number"])  # /rollback from the PR conversation runs the same code
    production.github.comment(OWNER, NAME, pr, "/rollback 2", author=OWNER)
    done = wait_for_runs(production.services, lambda r: r.kind == "rollback", count=2)
    assert production.aliases() == {"champion": 2, "previous-champion": 1}
    assert done[-1].job_as(RollbackJob).actor == f"{OWNER} (/rollback on {FULL}#{pr})"
    replies = [c["body"] for c in production.state()["comments"] if c["issue_number"] == pr]
    assert any(body.startswith(f"Rolled back `{MODEL}` from version 1 to version 2") for body in replies)


def test_direct_pushes_run_production_only_when_on_push_is_set(production: Production) -> None:
    production.create({".modelgate.yml": config(gates=LENIENT)})
    direct = production.github.commit(OWNER, NAME, {"NOTES.md": "direct\n"}, author="maintainer")
    [skipped] = production.wait_sha(direct["sha"])
    assert skipped.state == "cancelled" and skipped.error == "push: production.on_push is off"
    assert not [c for c in production.state()["check_runs"] if c["name"] == "modelgate / production"]
    on_push = config(gates=LENIENT, extra="production: {on_push: true}\n")
    pushed = production.github.commit(OWNER, NAME, {".modelgate.yml": on_push}, author="maintainer")
    [run] = production.wait_sha(pushed["sha"])
    assert run.result is not None and run.result["production"]["state"] == "promoted"
    assert production.check(pushed["sha"])["conclusion"] == "success"
    _, merge_sha = production.merge({"NOTES.md": "via a PR\n"})
    runs = production.wait_sha(merge_sha, count=2)
    assert [(r.trigger, r.state) for r in runs] == [("pull_request.merged", "succeeded"),
                                                    ("push", "cancelled")]
    assert runs[1].error == f"push: the merge commit of PR #{runs[0].pr_number} (its merge runs production)"


def test_a_broken_config_or_crashing_training_promotes_nothing(production: Production) -> None:
    production.create({".modelgate.yml": config(gates=LENIENT)})
    pr, sha = production.merge({".modelgate.yml": "model: {name: wine-classifier}\n"})
    broken = production.merge_run(production.wait_sha(sha, 2), sha)
    assert broken.state == "failed" and broken.error == "invalid .modelgate.yml"
    assert production.status(sha)["state"] == "failure"
    assert "model.task" in production.check(sha)["output"]["summary"]
    assert "could not read `.modelgate.yml`" in production.comment(pr)

    crashing = "def train(X_train, y_train):\n    raise RuntimeError('feature store unreachable')\n"
    pr, sha = production.merge({".modelgate.yml": config(gates=LENIENT), "model.py": crashing})
    run = production.merge_run(production.wait_sha(sha, 2), sha)
    assert run.state == "failed" and run.result is not None
    assert run.result["production"]["state"] == "failed" and "feature store unreachable" in str(run.error)
    assert production.status(sha)["state"] == "error"
    assert "not promoted" in production.comment(pr)
    assert production.deployments() == []
    assert production.services.runs.list_runs(kind="rollback") == []
    client = Tracker(str(production.services.settings.mlflow_tracking_uri)).client
    assert client.search_registered_models() == []


def _promote_from_two_repositories(production: Production) -> tuple[RunRecord, RunRecord, int]:
    """``acme/wine-classifier`` merges and promotes first, then ``acme/wine-copy`` (same model name)
    merges; (the first's run, the copy's run, the copy's PR number)."""
    production.create({".modelgate.yml": config(gates=LENIENT)})
    _, sha = production.merge({"NOTES.md": "first\n"})
    first = production.merge_run(production.wait_sha(sha, 2), sha)
    github = production.github
    github.create_repo(OWNER, COPY, path=EXAMPLE, files={".modelgate.yml": config(gates=LENIENT)})
    github.set_protection(OWNER, COPY, [])
    github.commit(OWNER, COPY, {"NOTES.md": "copy\n"}, branch="same-model", author="ada")
    pr = int(github.open_pull(OWNER, COPY, "same-model", author="ada", title="same model")["number"])
    copy_sha = github.merge(OWNER, COPY, pr, author="maintainer")["sha"]
    [copy] = wait_for_runs(production.services, lambda r: r.head_sha == copy_sha and r.kind == "production"
                           and r.trigger == "pull_request.merged", 1, 180)
    assert first.result is not None and first.result["production"]["state"] == "promoted"
    return first, copy, pr


def test_another_repository_cannot_promote_a_model_name_it_does_not_own(production: Production) -> None:
    _, copy, pr = _promote_from_two_repositories(production)
    line = ("not promoted: model wine-classifier belongs to acme/wine-classifier, the first repository "
            "to promote it; rename model.name in .modelgate.yml, or ask the App's operator to share "
            "the name (MODELGATE_SHARED_MODELS)")
    assert copy.state == "succeeded" and copy.result is not None
    assert copy.result["status"] == "passed"  # its gates passed: the name alone refuses it
    assert copy.result["production"] == {"state": "rejected", "version": None, "outcome": line}
    assert production.aliases() == {"champion": 1}
    assert production.version_tags(1)["modelgate.repository"] == FULL
    state = production.state()
    [status] = [s for s in state["statuses"] if s["sha"] == copy.head_sha and s["state"] != "pending"]
    assert (status["state"], status["description"]) == ("failure", line.split(";")[0])
    [check] = [c for c in state["check_runs"] if c["head_sha"] == copy.head_sha]
    assert (check["conclusion"], check["output"]["title"]) == (
        "failure", "Not promoted: refused by the App's ownership rules")
    assert check["output"]["summary"].startswith(f"**{line}**")
    [comment] = [c["body"] for c in state["comments"] if c["issue_number"] == pr and MARKER in c["body"]
                 and c["repo"] == f"{OWNER}/{COPY}"]
    assert line in comment
    assert len(production.deployments()) == 1  # the first repository's only


@pytest.mark.parametrize("production", [{"shared_models": f"other-model,{MODEL}"}], indirect=True)
def test_both_repositories_promote_a_model_name_the_operator_shares(production: Production) -> None:
    first, copy, _ = _promote_from_two_repositories(production)
    assert copy.state == "succeeded" and copy.result is not None
    assert (copy.result["production"]["state"], copy.result["production"]["version"]) == ("promoted", 2)
    assert copy.result["champion_version"] == 1  # judged against the first repository's champion
    assert production.aliases() == {"champion": 2, "previous-champion": 1}
    assert production.version_tags(2)["modelgate.repository"] == f"{OWNER}/{COPY}"
    assert first.finished_at is not None and copy.started_at is not None


# Predicts like the tuned model, except inside a process that carries WINE_SERVING_BROKEN: the
# App's own environment, which scoring servers inherit (minus MODELGATE_*) and pipeline jobs do not.
# Its class lives in the repository: the scoring server loads it without the checkout.
BROKEN_WHEN_SERVED = '''import os

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


class Guarded(Pipeline):
    def predict(self, X, **params):
        if os.environ.get("MODELGATE_WEBHOOK_SECRET"):
            raise RuntimeError("the App's secrets leaked into model code")
        if "__pyfunc_model_path__" in os.environ:  # only MLflow's scoring server sets it
            raise RuntimeError("feature schema drifted")
        return super().predict(X, **params)


def train(X_train, y_train):
    steps = [("scale", StandardScaler()), ("fit", LogisticRegression(C=0.5, max_iter=2000))]
    return Guarded(steps).fit(X_train, y_train)
'''


def test_a_new_server_failing_its_check_leaves_the_old_one_serving(
    production: Production, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_port = production.serve_port  # the App assigns it: the only port it allows
    production.create({".modelgate.yml": config("deploy: {kind: mlflow-serve}\n", gates=LENIENT)})
    _, first_sha = production.merge({"NOTES.md": "v1\n"})
    first = production.merge_run(production.wait_sha(first_sha, 2), first_sha)
    assert first.result is not None and first.result["production"]["state"] == "promoted"
    before = predict(serve_port)

    monkeypatch.setenv("MODELGATE_WEBHOOK_SECRET", "must-not-reach-the-server")
    pr, sha = production.merge({"model.py": BROKEN_WHEN_SERVED})
    run = production.merge_run(production.wait_sha(sha, 2), sha)
    assert run.result is not None and run.result["status"] == "passed"  # fine in the pipeline job
    assert run.result["production"]["state"] == "failed"
    assert "deploying version 2 failed; champion stays version 1" in production.comment(pr)
    assert production.aliases() == {"champion": 1}
    assert [states for _, states in production.deployments()][-1] == ["in_progress", "failure"]
    assert "feature schema drifted" in production.check(sha)["output"]["summary"]
    assert predict(serve_port) == before  # version 1 still answers on the stable port
