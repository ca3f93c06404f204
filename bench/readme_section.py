"""The benchmarks' README sections: each bench prints its tables and rewrites its own section of
bench/README.md (``publish``), leaving the others as they are."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
HEADING = "## Staging wall time vs a bare baseline"


def write_readme(section: str, heading: str = HEADING, after: str | None = None) -> None:
    """Replace the section under ``heading`` of bench/README.md; a new one goes after the section under
    ``after`` (or at the end). Other sections stay as they are."""
    text = README.read_text(encoding="utf-8")
    start = text.find(heading)
    if start < 0:
        anchor = -1 if after is None else text.find(after)
        end = -1 if anchor < 0 else text.find("\n## ", anchor + len(after or ""))
        if end < 0:
            text = text.rstrip("\n") + "\n\n" + section
        else:
            text = text[: end + 1] + section.rstrip("\n") + "\n\n" + text[end + 1 :]
    else:
        end = text.find("\n## ", start + len(heading))
        rest = "\n\n" + text[end + 1 :] if end >= 0 else ""
        text = text[:start] + section.rstrip("\n") + rest
    README.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def publish(body: str, section: Callable[[str, argparse.Namespace, int, float], str],
            args: argparse.Namespace, began: float, heading: str = HEADING, after: str | None = None) -> None:
    """Print the tables and, unless ``--no-readme``, rewrite their README section (``section`` renders it
    from the body, the arguments, the CPU count and the minutes since ``began``)."""
    print()
    print(body)
    if not args.no_readme:
        minutes = (time.perf_counter() - began) / 60
        write_readme(section(body, args, os.cpu_count() or 0, minutes), heading, after)
        print(f"\nwrote the section to {README.relative_to(ROOT)}")
