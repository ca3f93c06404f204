"""What the App declares to Ray Serve: every other application as the cluster holds it, the model's own
replaced; routes that would take another application's requests refused; the replicas' environment
(the serving code, and the version's own pins only when they are not the App's). Pure decisions."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.model_files import job_requirements
from pipelines.ray_serve.cluster import declaration, failure_message, route_holder
from pipelines.ray_serve.deployer import serving_runtime_env
from pipelines.runtimes import serving_requirements

HTTP = {"host": "0.0.0.0", "port": 8000}


def app(name: str, prefix: str, version: int = 1) -> dict[str, Any]:
    return {"name": name, "route_prefix": prefix, "import_path": "x:app", "args": {"version": version}}


def held(config: dict[str, Any], source: str = "declarative", status: str = "RUNNING") -> dict[str, Any]:
    """An application as GET /api/serve/applications/ shows it."""
    return {"name": config["name"], "route_prefix": config["route_prefix"], "status": status,
            "source": source, "deployed_app_config": config}


def details(*apps: dict[str, Any], running: bool = True) -> dict[str, Any]:
    found: dict[str, Any] = {"applications": {a["name"]: a for a in apps}}
    if running:
        found.update(controller_info={"node_id": "n"}, http_options=HTTP, proxy_location="EveryNode")
    return found


OURS, THEIRS = app("modelgate-wine", "/wine", 2), app("fraud", "/fraud")


@pytest.mark.parametrize(
    ("found", "new", "expected"),
    [
        (details(running=False), OURS, {"applications": [OURS]}),  # Serve starts with its own defaults
        (details(held(THEIRS)), OURS, {"applications": [THEIRS, OURS], "http_options": HTTP,
                                        "proxy_location": "EveryNode"}),
        (details(held(THEIRS), held(app("modelgate-wine", "/wine", 1))), OURS,
         {"applications": [THEIRS, OURS], "http_options": HTTP, "proxy_location": "EveryNode"}),
        (details(held(THEIRS), held(OURS)), None,  # stop: ours left out, theirs kept
         {"applications": [THEIRS], "http_options": HTTP, "proxy_location": "EveryNode"}),
        (details(held(THEIRS, source="imperative"), held(app("gone", "/gone"), status="DELETING")), OURS,
         {"applications": [OURS], "http_options": HTTP, "proxy_location": "EveryNode"}),
    ],
)
def test_declaration_keeps_the_others(found: dict[str, Any], new: dict[str, Any] | None,
                                      expected: dict[str, Any]) -> None:
    assert declaration(found, "modelgate-wine", new) == expected


@pytest.mark.parametrize(
    ("prefix", "holder"),
    [
        ("/wine", None),  # our own application's route
        ("/fraud", "fraud"),
        ("/fraud/invocations", "fraud"),  # would take the requests meant for fraud's /invocations
        ("/fraud-2", None),
        ("/", None),
    ],
)
def test_route_holder(prefix: str, holder: str | None) -> None:
    assert route_holder(details(held(OURS), held(THEIRS)), "modelgate-wine", prefix) == holder


def test_a_failure_shows_the_error_not_the_traceback_decoration() -> None:
    trace = ("Traceback (most recent call last):\n  File \"replica.py\", line 64, in __init__\n"
             "    self.model.predict(rows)\n    ^^^^^^^^^^^^^^^^^^^^^^^\n"
             "ValueError: X has 1 features, but LogisticRegression is expecting 2 features as input.\n")
    found = {"message": "Failed to update the deployments ['Model'].",
             "deployments": {"Model": {"message": trace}}}
    shown = failure_message(found).splitlines()
    assert shown[0] == "Failed to update the deployments ['Model']."
    assert shown[-1].startswith("ValueError: X has 1 features") and not any("^^^" in line for line in shown)


def test_replicas_get_the_serving_code_and_only_foreign_pins() -> None:
    own = serving_runtime_env(job_requirements())  # saved in the App's runtime: the cluster's own
    assert own["py_modules"][0].endswith("/pipelines") and "uv" not in own
    assert set(own) == {"py_modules", "excludes", "env_vars"}
    assert all(name.startswith(("MLFLOW_", "DO_NOT_TRACK")) for name in own["env_vars"])  # nothing else
    assert "uv" not in serving_runtime_env([])
    foreign = serving_runtime_env(["scikit-learn==1.3.2", "lightgbm==4.7.0"])
    assert foreign["uv"] == {"packages": ["scikit-learn==1.3.2", "lightgbm==4.7.0", *serving_requirements()]}
