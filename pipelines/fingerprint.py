"""Deterministic fingerprints of a checkout and of data arrays: the inputs of the result cache key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

# Caches, environments and local MLflow stores are not code: they never change a result.
SKIPPED_DIRS = frozenset({
    ".git", "__pycache__", ".modelgate", ".venv", "venv", "mlruns", "mlartifacts",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".ipynb_checkpoints",
})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def code_fingerprint(repo_dir: Path) -> str:
    """sha256 over every file's relative path and content (symlinks by their target, not followed)."""
    digest = hashlib.sha256()
    for path in sorted(_files(repo_dir)):
        digest.update(path.relative_to(repo_dir).as_posix().encode() + b"\0")
        content = b"link:" + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def _files(repo_dir: Path) -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(repo_dir):
        subdirs[:] = [name for name in subdirs if name not in SKIPPED_DIRS]
        found += [Path(directory, name) for name in files
                  if not name.endswith(SKIPPED_SUFFIXES) and not name.startswith("mlflow.db")]
    return found


def data_fingerprint(*arrays: Any) -> str:
    """sha256 over the values, shapes, dtypes and labels of arrays, data frames, series or sparse matrices."""
    digest = hashlib.sha256()
    for array in arrays:
        _update(digest, array)
    return digest.hexdigest()


def _update(digest: Any, data: Any) -> None:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame | pd.Series):
        labels = list(data.columns) if isinstance(data, pd.DataFrame) else [data.name]
        dtypes = data.dtypes.astype(str).tolist() if isinstance(data, pd.DataFrame) else [str(data.dtype)]
        digest.update(repr((type(data).__name__, data.shape, labels, dtypes)).encode())
        digest.update(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
        return
    if hasattr(data, "tocsr"):  # scipy.sparse
        matrix = data.tocsr()
        digest.update(repr(("sparse", matrix.shape, str(matrix.dtype))).encode())
        for part in (matrix.data, matrix.indices, matrix.indptr):
            digest.update(np.ascontiguousarray(part).tobytes())
        return
    array = np.asarray(data)
    if array.dtype == object:  # raw bytes of objects are pointers: hash their values instead
        _update(digest, pd.DataFrame(array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)))
        return
    digest.update(repr(("array", array.shape, array.dtype.str)).encode())
    digest.update(np.ascontiguousarray(array).tobytes())
