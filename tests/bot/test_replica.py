"""Lease holders: a replica's name kept in its data directory, a process of it, and which holders a
process may take over at once (another process of its replica that no longer runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.deployments.replica import orphaned, process_holder, replica_id


def test_a_replica_keeps_its_name_and_another_data_directory_has_another(tmp_path: Path) -> None:
    first = replica_id(tmp_path / "a")
    assert replica_id(tmp_path / "a") == first  # after a restart
    assert replica_id(tmp_path / "b") != first
    assert process_holder(first) == f"{first}/{os.getpid()}"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


MINE = f"host-abc/{os.getpid()}"


@pytest.mark.parametrize(
    ("holder", "taken_at_once"),
    [
        (None, False),  # nobody holds it: the lease rules apply
        ("{mine}", False),  # this process
        ("host-abc/{dead}", True),  # a killed process of this replica
        ("host-abc/{parent}", False),  # a live process of this replica (--processes, a worker beside serve)
        ("host-xyz/{dead}", False),  # another replica: only its lease running out frees it
        ("host-abc/not-a-pid", False),
    ],
)
def test_which_holders_are_taken_over_at_once(holder: str | None, taken_at_once: bool) -> None:
    named = None if holder is None else holder.format(dead=_dead_pid(), parent=os.getppid(), mine=MINE)
    assert orphaned(named, MINE) is taken_at_once
