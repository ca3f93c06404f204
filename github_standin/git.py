"""The sandbox's git model: commits are whole-tree snapshots hashed like content-addressed git."""

from __future__ import annotations

import difflib
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

SKIP_DIRS = frozenset({".git", "__pycache__", ".venv"})
ZERO_SHA = "0" * 40


def blob_sha(content: bytes) -> str:
    """The git blob id of ``content`` (what GitHub reports as a file's ``sha``)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def tree_sha(tree: Mapping[str, bytes]) -> str:
    """A stable id for a whole tree (sorted paths and their blob ids)."""
    listing = "\n".join(f"{path}\0{blob_sha(tree[path])}" for path in sorted(tree))
    return hashlib.sha1(b"tree\0" + listing.encode()).hexdigest()


def commit_sha(tree: Mapping[str, bytes], parent: str | None, message: str, author: str,
               timestamp: str) -> str:
    """40-hex sha1 of the canonical serialisation of a commit: tree, parent and metadata."""
    canonical = json.dumps(
        {"tree": tree_sha(tree), "parent": parent, "message": message, "author": author,
         "timestamp": timestamp},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha1(canonical.encode()).hexdigest()


def read_directory(root: str | Path) -> dict[str, bytes]:
    """All files under ``root`` as relpath → bytes, skipping ``.git``, ``__pycache__``, ``.venv``."""
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"not a directory: {base}")
    files: dict[str, bytes] = {}
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if any(part in SKIP_DIRS for part in rel.parts) or not path.is_file():
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def apply_changes(tree: Mapping[str, bytes], changes: Mapping[str, str | bytes | None]) -> dict[str, bytes]:
    """A new tree: each change sets a file's content, or deletes it when the value is None."""
    result = dict(tree)
    for path, content in changes.items():
        clean = normalise_path(path)
        if content is None:
            result.pop(clean, None)
        else:
            result[clean] = content.encode() if isinstance(content, str) else content
    return result


def normalise_path(path: str) -> str:
    """``./a//b`` → ``a/b``; rejects absolute paths and ``..``."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or path.startswith("/"):
        raise ValueError(f"bad file path: {path!r}")
    return "/".join(parts)


def changed_paths(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> dict[str, list[str]]:
    """``{"added": [...], "removed": [...], "modified": [...]}`` between two trees."""
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "modified": sorted(p for p in set(before) & set(after) if before[p] != after[p]),
    }


def diff_stats(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> tuple[int, int, int]:
    """(additions, deletions, changed_files) counting lines like ``git diff --numstat``."""
    additions = deletions = changed = 0
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path, b""), after.get(path, b"")
        if path in before and path in after and old == new:
            continue
        changed += 1
        for line in difflib.unified_diff(_lines(old), _lines(new), n=0, lineterm=""):
            if not line.startswith(("+++", "---")):
                additions += line.startswith("+")
                deletions += line.startswith("-")
    return additions, deletions, changed


def _lines(content: bytes) -> list[str]:
    return content.decode("utf-8", errors="replace").splitlines()


def build_tarball(prefix: str, tree: Mapping[str, bytes], sha: str, timestamp: str) -> bytes:
    """A gzip tarball like GitHub's: one top-level ``prefix/`` dir, pax comment = commit sha."""
    mtime = int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").timestamp())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"comment": sha}) as tar:
        dirs = {prefix} | {f"{prefix}/{'/'.join(p.split('/')[:i])}"
                           for p in tree for i in range(1, p.count("/") + 1)}
        for name in sorted(dirs):
            info = tarfile.TarInfo(name + "/")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o775, mtime
            tar.addfile(info)
        for path in sorted(tree):
            info = tarfile.TarInfo(f"{prefix}/{path}")
            info.size, info.mode, info.mtime = len(tree[path]), 0o664, mtime
            tar.addfile(info, io.BytesIO(tree[path]))
    return gzip.compress(raw.getvalue(), mtime=mtime)
