"""How ``modelgate serve`` lays itself out over processes (pure decisions: tables)."""

from __future__ import annotations

import pytest

from bot.processes.plan import MAX_AUTO_INTAKE, ProcessPlan, plan_processes
from bot.processes.supervisor import restart_delay

# (usable cores, MODELGATE_PROCESSES, run workers) -> plan
PLANS = [
    ((1, None, 2), ProcessPlan(1, background=False)),  # one core: one process does everything
    ((2, None, 2), ProcessPlan(2, background=True)),  # the default on this project's machine
    ((3, None, 2), ProcessPlan(3, background=True)),
    ((64, None, 2), ProcessPlan(MAX_AUTO_INTAKE, background=True)),  # SQLite: one writer at a time
    ((8, 1, 2), ProcessPlan(1, background=False)),  # asked for one process
    ((1, 3, 2), ProcessPlan(3, background=True)),  # asked for three on one core
    ((2, None, 0), ProcessPlan(2, background=False)),  # intake only: intake acknowledges, nothing else runs
    ((1, None, 0), ProcessPlan(1, background=False)),
]


@pytest.mark.parametrize(("given", "plan"), PLANS)
def test_plan(given: tuple[int, int | None, int], plan: ProcessPlan) -> None:
    assert plan_processes(*given) == plan


@pytest.mark.parametrize(("plan", "single"), [
    (ProcessPlan(1, background=False), True),
    (ProcessPlan(2, background=False), False),
    (ProcessPlan(2, background=True), False),
])
def test_single_process(plan: ProcessPlan, single: bool) -> None:
    assert plan.single is single


# quick failures in a row -> seconds before the next start
@pytest.mark.parametrize(("failures", "delay"), [(0, 0.0), (1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0),
                                                 (50, 30.0)])
def test_restart_delay(failures: int, delay: float) -> None:
    assert restart_delay(failures) == delay
