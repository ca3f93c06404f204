"""Waiting until what a bench started has finished its background work (a standby pipeline process and its
warm job import ahead after each run), so it takes no CPU from the next measurement of a peer."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _parents() -> dict[int, int]:
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        found[int(proc.name)] = int(status.split("PPid:", 1)[1].split()[0])
    return found


def descendants_cpu_ticks(root: int | None = None) -> int:
    """User + system clock ticks used so far by the live descendants of ``root`` (default: this process)."""
    root = os.getpid() if root is None else root
    parents = _parents()
    total = 0
    for pid in parents:
        ancestor = parents.get(pid, 0)
        while ancestor > 1 and ancestor != root:
            ancestor = parents.get(ancestor, 0)
        if ancestor != root:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def settle(quiet_seconds: float = 0.5, limit_seconds: float = 60.0) -> float:
    """Wait until this process's descendants use (almost) no CPU for ``quiet_seconds``; the seconds waited."""
    started = time.monotonic()
    before = descendants_cpu_ticks()
    while time.monotonic() - started < limit_seconds:
        time.sleep(quiet_seconds)
        now = descendants_cpu_ticks()
        if now - before <= 2:
            break
        before = now
    return time.monotonic() - started
