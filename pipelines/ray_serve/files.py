"""A served version's files on the Ray storage (``MODELGATE_RAY_STORAGE``), where replicas read them
with the nodes' own credentials: ``<storage>/serve/<application>/v<version>/`` holds ``model/`` (the
version's files, copied out of MLflow by the App: the cluster never gets MLflow credentials) and
``sample.json`` (the rows a replica predicts before it takes traffic)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.ray_jobs.storage import upload_tree

MODEL_FOLDER = "model"  # as pipelines.ray_serve.replica reads them
SAMPLE_FILE = "sample.json"
_VERSION_FOLDER = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class ServedFiles:
    """The files of one application's versions under ``storage`` (a path or an fsspec URL)."""

    storage: str
    app: str

    @property
    def root(self) -> str:
        return f"{self.storage.rstrip('/')}/serve/{self.app}"

    def url(self, version: int) -> str:
        """Where the files of ``version`` are (what the replicas are told)."""
        return f"{self.root}/v{version}"

    def put(self, version: int, model_dir: Path, sample: Any | None) -> str:
        """Copy the model's folder and the sample rows (a DataFrame, or None) there; the URL."""
        url = self.url(version)
        fs, path = _located(url)
        with contextlib.suppress(FileNotFoundError):
            fs.rm(path, recursive=True)
        upload_tree(fs, model_dir, f"{path}/{MODEL_FOLDER}")
        if sample is not None:
            fs.pipe_file(f"{path}/{SAMPLE_FILE}", sample.to_json(orient="split", date_format="iso").encode())
        return url

    def keep_only(self, *versions: int) -> None:
        """Remove the files of every other version of the application."""
        fs, root = _located(self.root)
        try:
            entries = fs.ls(root, detail=False)
        except FileNotFoundError:
            return
        for entry in entries:
            found = _VERSION_FOLDER.match(str(entry).rstrip("/").rsplit("/", 1)[-1])
            if found and int(found.group(1)) not in versions:
                with contextlib.suppress(FileNotFoundError):
                    fs.rm(entry, recursive=True)

    def remove(self, version: int | None = None) -> None:
        """Remove the files of ``version`` (None: of every version of the application)."""
        fs, root = _located(self.root if version is None else self.url(version))
        with contextlib.suppress(FileNotFoundError):
            fs.rm(root, recursive=True)


def _located(url: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url)
    return fs, str(path).rstrip("/")
