"""The step table of check run summaries."""

from __future__ import annotations

import pytest

from reports.steps import duration, steps_table


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, "—"), (0.0, "0.00 s"), (0.426, "0.43 s"), (9.994, "9.99 s"), (12.34, "12.3 s"),
    (59.9, "59.9 s"), (60.0, "1 min 00 s"), (245.4, "4 min 05 s"), (3725.0, "62 min 05 s"),
])
def test_duration(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_steps_table() -> None:
    table = steps_table([("fetch", "done", 0.12), ("train", "running", None), ("report", "skipped", None),
                         ("evaluate champion", "failed", 1.5)])
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()]
    assert cells[0] == ["Step", "State", "Time"] and set(cells[1][0]) == {"-"}
    assert cells[2:] == [["fetch", "✅ done", "0.12 s"], ["train", "⏳ running", "—"],
                         ["report", "⏭️ skipped", "—"], ["evaluate champion", "❌ failed", "1.50 s"]]
    assert steps_table([]) == ""
