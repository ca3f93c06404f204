"""The Ray cluster's Serve REST API as modelgate uses it (the dashboard at ``MODELGATE_RAY_ADDRESS``;
the App is no Ray driver), and the declared configuration it reads and writes.

``PUT /api/serve/applications/`` replaces every application declared through it, so each change is a
read-modify-write of the whole declaration (``declaration``) that keeps the other applications as
the cluster holds them; ``DECLARATIONS`` serializes them within this process.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from pipelines.ray_serve.names import routes_overlap
from pipelines.serving import DeployError

DECLARATIONS = threading.Lock()
APPLICATIONS = "/api/serve/applications/"
PROBE_SECONDS = 5.0
REQUEST_SECONDS = 120.0  # a PUT that starts Serve waits for its controller
FAILED_STATUSES = frozenset({"DEPLOY_FAILED", "UNHEALTHY"})
MESSAGE_LINES = 6


class ServeApi:
    """One cluster's Serve REST API; every error is a DeployError that says what failed."""

    def __init__(self, address: str) -> None:
        self.address = address
        try:
            from ray.dashboard.modules.serve.sdk import ServeSubmissionClient
        except ImportError as exc:
            raise DeployError("ray-serve needs the ray extra: pip install 'modelgate[ray]'") from exc
        try:  # Ray's client waits without limit: first see that something answers there
            httpx.get(f"{address}/api/version", timeout=PROBE_SECONDS)
            self._client = ServeSubmissionClient(address)
        except Exception as exc:
            raise DeployError(f"the Ray cluster at {address} does not answer: {_last_line(exc)}") from exc

    def details(self) -> dict[str, Any]:
        """Serve's state: ``applications`` by name (status, message, ``deployed_app_config``)."""
        return dict(self._call("reading the Serve applications", self._request, "GET", None).json())

    def put(self, declaration: dict[str, Any]) -> None:
        """Declare exactly these applications (and start Serve when it is not running)."""
        self._call("declaring the Serve applications", self._request, "PUT", declaration)

    def _request(self, method: str, body: dict[str, Any] | None) -> Any:
        """One call of the applications endpoint, with the client's authentication and a time limit."""
        response = self._client._do_request(method, APPLICATIONS, json_data=body, timeout=REQUEST_SECONDS)
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}: {response.text}")
        return response

    def upload(self, runtime_env: dict[str, Any]) -> dict[str, Any]:
        """``runtime_env`` with its local ``py_modules`` uploaded to the cluster (``gcs://`` URIs)."""
        uploaded = dict(runtime_env)
        self._call("uploading the serving code", self._client._upload_py_modules_if_needed, uploaded)
        return uploaded

    def _call(self, doing: str, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except Exception as exc:
            message = f"{doing} on the Ray cluster at {self.address} failed: {_last_line(exc)}"
            raise DeployError(message) from exc


def declaration(details: dict[str, Any], name: str, app: dict[str, Any] | None) -> dict[str, Any]:
    """The body of a PUT: every application declared now as the cluster holds it, ``name``'s replaced by
    ``app`` (left out when None), and Serve's HTTP options unchanged when it runs."""
    apps = [found["deployed_app_config"] for key, found in sorted(details.get("applications", {}).items())
            if key != name and found.get("source") == "declarative" and found.get("deployed_app_config")
            and found.get("status") != "DELETING"]
    body: dict[str, Any] = {"applications": [*apps, *([app] if app is not None else [])]}
    if details.get("controller_info") and details.get("http_options"):
        body["http_options"] = details["http_options"]
        if details.get("proxy_location"):
            body["proxy_location"] = details["proxy_location"]
    return body


def declared_config(details: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The configuration application ``name`` is declared with, or None."""
    return (details.get("applications", {}).get(name) or {}).get("deployed_app_config")


def route_holder(details: dict[str, Any], name: str, prefix: str) -> str | None:
    """Another application whose route prefix overlaps ``prefix`` (it would take requests meant for
    ``name``, or ``name`` would take its own), or None."""
    for key, found in sorted(details.get("applications", {}).items()):
        other = found.get("route_prefix")
        if key != name and other and routes_overlap(str(other), prefix):
            return str(key)
    return None


def failure_message(app: dict[str, Any]) -> str:
    """Why an application failed: its message and the last lines of its deployments' (the error)."""
    lines = [str(app.get("message") or "").strip()]
    for deployment in (app.get("deployments") or {}).values():
        text = str(deployment.get("message") or "")
        lines += [line.rstrip() for line in text.splitlines() if line.strip(" ^~\t")][-MESSAGE_LINES:]
    return "\n".join(line for line in lines if line)[:3000]


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:500]
