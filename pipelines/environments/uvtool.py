"""Running uv for environments: the binary, an environment built from nothing, and its output."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.sandbox import Sandbox

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
UV_TIMEOUT_SECONDS = 1800


def uv_binary() -> Path:
    """The uv executable modelgate depends on: next to this interpreter, else the ``uv`` package's."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return beside
    import uv

    return Path(uv.find_uv_bin())


@dataclass(frozen=True)
class UvResult:
    """What one uv command did."""

    code: int
    out: list[str]
    err: list[str]

    @property
    def lines(self) -> list[str]:
        """Its output as one log: stderr (uv's messages), then stdout."""
        return [*self.err, *self.out]


def uv_environment(cache_dir: Path | None = None, index_url: str | None = None,
                   network: bool = False) -> dict[str, str]:
    """Process environment for uv, built from nothing (never the App's variables): no user or
    repository uv.toml, no Python downloads; with ``network`` the operator's index and CA bundle."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home", "UV_NO_CONFIG": "1",
           "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1", "UV_NO_PROGRESS": "1", "LANG": "C.UTF-8"}
    env["UV_CACHE_DIR"] = str(cache_dir) if cache_dir is not None else "/tmp/uv-cache"
    if index_url:
        env["UV_INDEX_URL"] = index_url
    ca_bundle = ca_bundle_file()
    if network and ca_bundle is not None:
        env["SSL_CERT_FILE"] = str(ca_bundle)
    return env


def ca_bundle_file() -> Path | None:
    """The CA bundle uv verifies the index with: the operator's SSL_CERT_FILE, else the system's."""
    configured = os.environ.get("SSL_CERT_FILE")
    for candidate in (Path(configured) if configured else None, SYSTEM_CA_BUNDLE):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def run_uv(sandbox: Sandbox, args: Sequence[str], env: dict[str, str]) -> UvResult:
    """Run ``uv args`` in ``sandbox`` (which must show the binary: ``extra_runtime=uv_runtime()``)."""
    argv = sandbox.command([str(uv_binary().resolve()), *args])
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=UV_TIMEOUT_SECONDS,
                               check=False, stdin=subprocess.DEVNULL)
    return UvResult(completed.returncode, completed.stdout.splitlines(), completed.stderr.splitlines())


def uv_runtime() -> list[Path]:
    """What a sandbox must show for uv to run: its binary."""
    return [uv_binary().resolve()]


def uv_message(lines: Sequence[str]) -> str:
    """uv's own error text on one line ("No solution found when resolving dependencies: Because …")."""
    start = next((i for i, line in enumerate(lines) if line.startswith(("error:", "  × ", "×"))), None)
    if start is None:
        tail = [line.strip() for line in lines if line.strip()][-3:]
        return " ".join(tail) or "uv failed without a message"
    parts = []
    for line in lines[start:]:
        text = line.strip().removeprefix("error:").removeprefix("×").removeprefix("cause:").strip()
        text = text.removeprefix("╰─▶").strip()
        if text.startswith("hint:"):
            text = f"({text})"
        if text:
            parts.append(text)
    return ": ".join([parts[0], " ".join(parts[1:])]) if len(parts) > 1 else parts[0]
