"""The steps of a run as a markdown table: each step's state and how long it took (check run summaries,
live and final). Pure rendering: rows of plain values in, markdown out."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate

StepRow = tuple[str, str, "float | None"]  # (step, waiting|running|done|failed|skipped, seconds)
STATE_SHOWN = {"waiting": "⏸️ waiting", "running": "⏳ running", "done": "✅ done", "failed": "❌ failed",
               "skipped": "⏭️ skipped"}


def duration(seconds: float | None) -> str:
    """A step's time: ``0.42 s``, ``12.3 s``, ``4 min 05 s``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def steps_table(rows: Sequence[StepRow]) -> str:
    """The steps as a table (``""`` without rows)."""
    if not rows:
        return ""
    body = [(name, STATE_SHOWN.get(state, state), duration(seconds)) for name, state, seconds in rows]
    return tabulate(body, headers=["Step", "State", "Time"], tablefmt="github")
