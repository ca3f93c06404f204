"""Writing what ``modelgate setup`` got from GitHub: the private key in a file of its own (mode 0600) and
the settings in ``.env``, whose other lines stay as they were."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values, set_key, unset_key

PRIVATE = 0o600


def write_private_key(path: Path, pem: str) -> None:
    """Create ``path`` (mode 0600, never over an existing file) holding ``pem``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
        key_file.write(pem)


def update_env_file(path: Path, values: Mapping[str, str], remove: Iterable[str] = ()) -> list[str]:
    """Set ``values`` in the dotenv file ``path`` and drop the keys ``remove``, keeping every other line;
    the file is (made) readable by its owner only. Returns the keys it dropped."""
    if not path.exists():
        path.touch(mode=PRIVATE)
    os.chmod(path, PRIVATE)
    present = dotenv_values(path)
    dropped = [key for key in remove if key in present]
    for key in dropped:
        unset_key(path, key)
    for key, value in values.items():
        set_key(path, key, value)
    os.chmod(path, PRIVATE)
    return dropped
