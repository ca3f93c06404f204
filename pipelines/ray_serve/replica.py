"""The Ray Serve application that serves one model version (cluster side: runs in the replica's
runtime environment, never in the App).

``app(args)`` is the application builder the Serve config's ``import_path`` names. Each replica copies
the version's files from the Ray storage (``args["files"]``: a folder the App filled, reached with the
node's own storage credentials), loads them with ``mlflow.pyfunc.load_model`` and predicts the sample
rows the App put beside them: a replica whose model fails to load or to predict never starts, so a
rolling update to it fails and the old replicas keep serving (``max_surge_percent=100``: they stop
only once the new ones run). It answers MLflow's scoring protocol: ``POST …/invocations``,
``GET …/ping``, and ``GET …/version`` (the version it serves).

Only Ray, MLflow (skinny), pandas, fsspec and starlette are imported here: nothing of the App's.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

from ray import serve
from starlette.requests import Request
from starlette.responses import Response

MODEL_FOLDER = "model"
SAMPLE_FILE = "sample.json"
CONSTRUCTOR_TRIES = 1  # a version that cannot load fails its update at once: the old one keeps serving


def fetch(files: str, target: Path) -> Path:
    """Copy the folder ``files`` (a path or an fsspec URL) into ``target``."""
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(files)
    root = str(root).rstrip("/")
    for path in fs.find(root):
        relative = str(path)[len(root):].lstrip("/")
        if not relative or ".." in relative.split("/"):
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(path, str(destination))
    return target


@serve.deployment(name="Model", max_surge_percent=100, max_constructor_retry_count=CONSTRUCTOR_TRIES,
                  health_check_period_s=10)
class ModelReplica:
    """One replica of the model version in ``files``."""

    def __init__(self, files: str, version: int, model: str) -> None:
        import mlflow.pyfunc
        import pandas as pd

        self.version, self.model_name = int(version), model
        self._folder = tempfile.TemporaryDirectory(prefix="modelgate-serve-")
        local = fetch(files, Path(self._folder.name))
        self.model = mlflow.pyfunc.load_model(str(local / MODEL_FOLDER))
        self.input_schema = self.model.metadata.get_input_schema()
        sample = local / SAMPLE_FILE
        if sample.is_file():  # one prediction before the replica may take traffic
            self.model.predict(pd.read_json(io.StringIO(sample.read_text()), orient="split"))

    async def __call__(self, request: Request) -> Response:
        """``/invocations``, ``/ping`` (also ``/health``) and ``/version`` under the route prefix."""
        route = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        if request.method == "POST" and route == "invocations":
            return await self._invocations(request)
        if request.method == "GET" and route in ("ping", "health"):
            return Response("\n", media_type="application/json")
        if request.method == "GET" and route == "version":
            body = {"model": self.model_name, "version": self.version}
            return Response(json.dumps(body), media_type="application/json")
        return Response("not found\n", status_code=404, media_type="text/plain")

    async def _invocations(self, request: Request) -> Response:
        from mlflow.pyfunc.scoring_server import invocations

        data = (await request.body()).decode("utf-8", errors="replace")
        content_type = request.headers.get("content-type", "application/json")
        answer = invocations(data, content_type, self.model, self.input_schema)
        return Response(answer.response, status_code=answer.status, media_type=answer.mimetype)


def app(args: dict[str, Any]) -> Any:
    """The application builder: ``args`` holds ``files``, ``version``, ``model`` and the replicas'
    ``num_replicas`` and ``ray_actor_options`` (the App decided them from the repository's config)."""
    options = {"num_replicas": int(args.get("num_replicas", 1)),
               "ray_actor_options": dict(args.get("ray_actor_options") or {})}
    deployment: Any = ModelReplica  # a serve.Deployment: the decorator's type is not the class's
    return deployment.options(**options).bind(str(args["files"]), int(args["version"]), str(args["model"]))
