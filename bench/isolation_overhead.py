"""What the sandbox costs a staging run: ``isolation=bwrap`` vs ``isolation=none``, against a bare baseline.

One run, interleaved (the order rotates every repetition), on a copy of the example repository
(``examples/wine-classifier``):

* baseline: ``python -c`` importing the example's ``data`` and ``model``, train, predict, the configured
  metrics (``staging_wall.run_baseline``: whole process wall time, interpreter start included);
* staging with ``isolation=none`` and with ``isolation=bwrap``: one uncached staging run through
  ``LocalExecutor`` (``PipelineJob(policy=JobPolicy(isolation=...))``), timed from submit to result,
  MLflow on a sqlite file in a temp dir whose store is created by untimed warm-up runs.

Then the sandbox's setup alone, interleaved too: ``python -P -c pass`` with the job's environment,
the same inside the job's ``bwrap`` command line (same mounts, namespaces, environment), and
``bwrap … true`` (no Python at all).

Every measurement records wall time and the CPU time (user + system) of the processes it started
(``RUSAGE_CHILDREN``): on a busy machine CPU time moves much less than wall time. bwrap's outer process
exits without reaping the sandbox's pid 1, whose CPU time (the whole job's) would then be lost to
``RUSAGE_CHILDREN``; so this process makes itself a child subreaper and reaps such orphans after each
measurement, outside the wall-time window.

Run: ``.venv/bin/python bench/isolation_overhead.py`` (prints the tables, rewrites its README section).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from readme_section import publish
from staging_wall import (
    job_rest,
    make_repo,
    run_baseline,
    run_modelgate,
    same_metrics,
    step_rows,
)

from pipelines.executor import LocalExecutor
from pipelines.job_process import JobPolicy, job_environment
from pipelines.sandbox import Isolation, Sandbox, check_isolation

HEADING = "## Sandbox overhead: isolation=bwrap vs none"
AFTER = "## Staging wall time vs a bare baseline"
VARIANTS = ("baseline", "none", "bwrap")
LABELS = {"baseline": "bare baseline (train + eval in one process)",
          "none": "staging run, `isolation=none`", "bwrap": "staging run, `isolation=bwrap`"}
SETUP = ("python", "bwrap python", "bwrap true")
IMPORTS = ("imports", "bwrap imports")
SETUP_LABELS = {"python": "`python -P -c pass` (the job's interpreter and environment)",
                "bwrap python": "`bwrap … python -P -c pass` (the job's sandbox)",
                "bwrap true": "`bwrap … true` (the sandbox alone)",
                "imports": "`python -P -c 'import …'` (the job's modules and libraries)",
                "bwrap imports": "`bwrap … python -P -c 'import …'`"}
# What a job imports before and while running the example: its own modules, pydantic/yaml (config),
# numpy/scipy/pandas/scikit-learn (data, model, metrics), cloudpickle (save).
JOB_IMPORTS = ("import pipelines.job.run, pipelines.config, pipelines.metrics, pipelines.evaluation, "
               "pipelines.analysis, pipelines.job.arrays, pandas, sklearn.datasets, sklearn.model_selection, "
               "sklearn.linear_model, sklearn.pipeline, sklearn.preprocessing, sklearn.metrics, cloudpickle")
# The figures of bench/README.md before the job moved into the sandbox (run of 2026-11-25): the example's
# baseline, its difference over the baseline, the fixed overhead fitted on the forest points, and the
# job's `cache` step (import mlflow, sqlite store, champion lookup, fingerprints).
BEFORE_BASELINE, BEFORE_DIFFERENCE, BEFORE_FIXED, BEFORE_MLFLOW = 1.31, 2.06, 1.74, 1.59
TARGET_ADDED = 0.2
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>

T = TypeVar("T")


@dataclass
class Sample:
    """One measurement: wall seconds, children's CPU seconds, step durations (staging runs only)."""

    wall: float
    cpu: float
    durations: dict[str, float] = field(default_factory=dict)


@dataclass
class Series:
    """The samples of one variant, in repetition order (so same-repetition pairs line up)."""

    samples: list[Sample] = field(default_factory=list)

    def median(self, what: str = "wall") -> float:
        return statistics.median(getattr(s, what) for s in self.samples)

    def paired(self, other: Series, what: str = "wall") -> float:
        """Median over repetitions of (self − other), measured next to each other."""
        return statistics.median(getattr(a, what) - getattr(b, what)
                                 for a, b in zip(self.samples, other.samples, strict=True))


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far (and of their children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def become_subreaper() -> None:
    """Orphaned descendants (the sandbox's pid 1 once bwrap's outer process exits) become our children."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def reap_orphans(grace: float = 5.0) -> None:
    """Wait for every child left (all of them orphans: each measurement waits for what it started), so
    their CPU time reaches ``RUSAGE_CHILDREN``."""
    deadline = time.monotonic() + grace
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() >= deadline:
                raise SystemExit("a process orphaned by a measurement is still running")
            time.sleep(0.005)


def measured(run: Callable[[], T]) -> tuple[T, float, float]:
    """``run()``'s value, its wall seconds and the CPU seconds of the processes it started."""
    cpu, started = children_cpu(), time.perf_counter()
    value = run()
    wall = time.perf_counter() - started
    reap_orphans()
    return value, wall, children_cpu() - cpu


def rotated(names: tuple[str, ...], rep: int) -> tuple[str, ...]:
    """``names`` starting at ``rep`` mod its length: each one goes first as often as the others."""
    shift = rep % len(names)
    return names[shift:] + names[:shift]


def setup_commands(repo: Path, scratch: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The sandbox-setup commands with the job's environment and the job's bwrap command line."""
    out = scratch / "out"
    for folder in (out, scratch / "home", scratch / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(Isolation.BWRAP, workdir=repo, writable=[repo, out])
    python = [sys.executable, "-P", "-c", "pass"]
    imports = [sys.executable, "-P", "-c", JOB_IMPORTS]
    plain_env = job_environment(JobPolicy(isolation=Isolation.NONE), scratch)
    bwrap_env = job_environment(JobPolicy(isolation=Isolation.BWRAP), scratch)
    return {"python": (python, plain_env), "bwrap python": (sandbox.command(python), bwrap_env),
            "bwrap true": (sandbox.command(["true"]), bwrap_env), "imports": (imports, plain_env),
            "bwrap imports": (sandbox.command(imports), bwrap_env)}


def run_command(argv: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run one setup command; it must succeed."""
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")


def command_line_seconds(repo: Path, out: Path, times: int = 200) -> float:
    """Median seconds the trusted side spends building the bwrap command line (in process)."""
    took = []
    for _ in range(times):
        started = time.perf_counter()
        Sandbox(Isolation.BWRAP, workdir=repo, writable=[repo, out]).command([sys.executable])
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def machine_load() -> tuple[float, float | None]:
    """The 1-minute load average and, where the kernel reports it, the CPU pressure (some, avg60, %)."""
    try:
        first = Path("/proc/pressure/cpu").read_text(encoding="utf-8").splitlines()[0]
        pressure: float | None = float(dict(part.split("=") for part in first.split()[1:])["avg60"])
    except (OSError, KeyError, ValueError, IndexError):
        pressure = None
    return os.getloadavg()[0], pressure


def load_summary(loads: list[tuple[float, float | None]]) -> str:
    """The range of the load figures taken after each repetition."""
    averages = [load for load, _ in loads]
    text = f"1-minute load average {min(averages):.1f}–{max(averages):.1f}"
    pressures = [pressure for _, pressure in loads if pressure is not None]
    if pressures:
        low, high = min(pressures), max(pressures)
        text += f", CPU pressure (`/proc/pressure/cpu` some avg60) {low:.0f}–{high:.0f} %"
    return text


def signed(value: float, digits: int = 2) -> str:
    """``value`` with its sign, and no "-0.00"."""
    return f"{0.0 if round(value, digits) == 0 else value:+.{digits}f}"


def report(staging: dict[str, Series], setup: dict[str, Series], command_line: float,
           loads: list[tuple[float, float | None]], args: argparse.Namespace) -> str:
    """The markdown tables and sentences."""
    base, none, bwrap = (staging[name] for name in VARIANTS)
    lines = ["| variant | median wall s | median CPU s | wall − baseline s (paired median) |",
             "|---|---:|---:|---:|"]
    for name in VARIANTS:
        series = staging[name]
        over = "—" if name == "baseline" else signed(series.paired(base))
        lines.append(f"| {LABELS[name]} | {series.median():.2f} | {series.median('cpu'):.2f} | {over} |")
    ratio = bwrap.median() / none.median()
    added, added_paired = bwrap.median() - none.median(), bwrap.paired(none)
    added_cpu = bwrap.paired(none, "cpu")
    verdict = "under" if added_paired < TARGET_ADDED else "NOT under"
    lines += ["", f"**bwrap / none = {ratio:.3f}** (medians of wall time); bwrap adds "
              f"**{signed(added_paired)} s** (median of the same-repetition differences; difference of the "
              f"medians {signed(added)} s; CPU {signed(added_cpu)} s): {verdict} the {TARGET_ADDED} s "
              "target.", ""]
    fixed = bwrap.paired(base)
    lines += [f"Fixed overhead of a staging run over the bare baseline, example workload: **{fixed:.2f} s** "
              f"with bwrap ({none.paired(base):.2f} s with none; CPU: {bwrap.paired(base, 'cpu'):.2f} s "
              f"and {none.paired(base, 'cpu'):.2f} s), {fixed / base.median():.2f}× the baseline's own "
              f"{base.median():.2f} s. Before the sandbox change the same difference was "
              f"{BEFORE_DIFFERENCE:.2f} s on a quiet machine, {BEFORE_DIFFERENCE / BEFORE_BASELINE:.2f}× its "
              f"baseline of {BEFORE_BASELINE:.2f} s ({BEFORE_FIXED:.2f} s fitted on the forest points), "
              f"{BEFORE_MLFLOW:.2f} s of it the job's `cache` step with its mlflow import.", ""]
    durations = [sample.durations for sample in bwrap.samples]
    parts = {"`champion files` (import mlflow, store, champion lookup and files; while the job loads data)":
             statistics.median(d.get("champion files", 0.0) for d in durations),
             "the job outside its own steps (sandbox, interpreter start, imports, job config)":
             statistics.median(job_rest(d) for d in durations),
             "`cache` + `results`": statistics.median(d.get("cache", 0.0) + d.get("results", 0.0)
                                                     for d in durations),
             "`tracking` (report evidence, MLflow run, model files)":
             statistics.median(d.get("tracking", 0.0) for d in durations),
             "outside `run_pipeline` (the trusted process's start and imports, polling)":
             bwrap.median() - statistics.median(d.get("total", 0.0) for d in durations)}
    listed = "; ".join(f"{name} {value:.2f} s" for name, value in parts.items())
    lines += [f"Staging-only parts of the bwrap runs (medians): {listed}; together "
              f"{sum(parts.values()):.2f} s against the difference of {fixed:.2f} s (the interpreter "
              "starts and imports include some the baseline pays once).", ""]
    py, sandboxed, bare, imports, bwrap_imports = (setup[name] for name in (*SETUP, *IMPORTS))
    lines += [f"The sandbox's setup alone ({args.setup_reps} repetitions of the first three, "
              f"{args.import_reps} of the import pair; each group interleaved, rotating order):", "",
              "| command | median wall ms | median CPU ms |", "|---|---:|---:|"]
    for name in (*SETUP, *IMPORTS):
        lines.append(f"| {SETUP_LABELS[name]} | {setup[name].median() * 1000:.0f} | "
                     f"{setup[name].median('cpu') * 1000:.0f} |")
    lines += ["", f"bwrap adds **{sandboxed.paired(py) * 1000:.0f} ms** to starting the job's interpreter "
              f"(paired median; CPU {sandboxed.paired(py, 'cpu') * 1000:+.0f} ms); `bwrap … true` takes "
              f"{bare.median() * 1000:.0f} ms; building the bwrap command line in the trusted process takes "
              f"{command_line * 1000:.2f} ms. Importing the job's modules inside the sandbox rather than "
              f"outside: {bwrap_imports.paired(imports) * 1000:+.0f} ms wall, "
              f"{bwrap_imports.paired(imports, 'cpu') * 1000:+.0f} ms CPU (paired medians).", ""]
    lines += ["Where a staging run's time goes (median seconds over the repetitions; steps from the "
              "result's `durations`, \"outside\" = wall − `total`: the trusted process's start and imports, "
              "result file, executor polling):", ""]
    lines += step_rows([(f"isolation={name}", [s.durations for s in staging[name].samples],
                         staging[name].median()) for name in ("none", "bwrap")])
    lines += ["", f"Machine load while measuring (taken after each repetition): {load_summary(loads)}."]
    return "\n".join(lines)


def readme_section(body: str, args: argparse.Namespace, cpus: int, minutes: float) -> str:
    """The README section: what was measured, the command, the tables."""
    today = datetime.date.today().isoformat()
    command = (f".venv/bin/python bench/isolation_overhead.py --reps {args.reps} "
               f"--setup-reps {args.setup_reps} --import-reps {args.import_reps}")
    return f"""{HEADING}

`bench/isolation_overhead.py` measures, in one run and interleaved (the order rotates every repetition),
on a copy of `examples/wine-classifier`: the bare baseline of the section above (train + eval in one
fresh `python -c`), and one uncached staging run through `LocalExecutor` with
`PipelineJob(policy=JobPolicy(isolation=none))` and with `isolation=bwrap` (wall time from `submit` to
`result`; MLflow on a sqlite file, store created by untimed warm-up runs of both). All three compute the
same metric values (checked). Then the sandbox on its own, interleaved as well: `python -P -c pass` with
the job's environment, the same inside the job's own bwrap command line, `bwrap … true`, and the job's
imports in and out of the sandbox. Each measurement also records the CPU time (user + system) of the
processes it started, which a busy machine inflates much less than wall time (the bench makes itself a
child subreaper: bwrap's outer process does not reap the sandbox's pid 1, whose CPU time would be lost).
Medians, and for differences the median of the same-repetition differences.

```bash
{command}
# repetitions of the staging trio, the setup trio and the import pair; prints the tables and
# rewrites this section (--no-readme: print only)
```

Run of {today} on this project's {cpus}-core machine ({minutes:.0f} min in all), **shared with other work
(test suites) while measuring** (load figures at the end): absolute seconds are inflated over a quiet
machine and not comparable with the section above; the ratio and the differences come from the same
run, interleaved.

{body}
"""


def main() -> None:
    """Measure, print the tables, update the README section."""
    parser = argparse.ArgumentParser(description="Sandbox (bwrap) overhead of a staging run.")
    parser.add_argument("--reps", type=int, default=9, help="repetitions of baseline / none / bwrap")
    parser.add_argument("--setup-reps", type=int, default=30, help="repetitions of the setup commands")
    parser.add_argument("--import-reps", type=int, default=10, help="repetitions of the import pair")
    parser.add_argument("--no-readme", action="store_true", help="print only")
    args = parser.parse_args()
    began = time.perf_counter()
    check_isolation(Isolation.BWRAP)
    become_subreaper()

    with tempfile.TemporaryDirectory(prefix="modelgate-isolation-") as temp:
        tmp = Path(temp)
        home = tmp / "home"
        home.mkdir()
        repo = make_repo(tmp, "plain", None)
        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        executor = LocalExecutor(workdir=tmp / "jobs", max_concurrency=1)

        def once(name: str, job_id: str) -> Sample:
            """One measurement of a variant; its metrics must be the baseline's."""
            if name == "baseline":
                (_, metrics), wall, cpu = measured(partial(run_baseline, repo, home))
                durations: dict[str, float] = {}
            else:
                (_, metrics, durations), wall, cpu = measured(partial(
                    run_modelgate, executor, repo, uri, job_id, Isolation(name), "isolation_overhead"))
            if not same_metrics(expected, metrics):
                raise SystemExit(f"{name}: metrics differ: {expected} vs {metrics}")
            return Sample(wall, cpu, durations)

        # Untimed warm-up: the store's tables and experiment, the page cache, both isolations once.
        expected = run_baseline(repo, home)[1]
        for name in ("none", "bwrap"):
            once(name, f"warmup-{name}")

        series = {name: Series() for name in VARIANTS}
        loads = []
        for rep in range(args.reps):
            for name in rotated(VARIANTS, rep):
                series[name].samples.append(once(name, f"r{rep}-{name}"))
            loads.append(machine_load())
            walls = ", ".join(f"{name} {series[name].samples[-1].wall:.2f} s" for name in VARIANTS)
            print(f"rep {rep + 1}: {walls} ({load_summary(loads[-1:])})", flush=True)
        executor.shutdown(timeout=60)

        commands = setup_commands(repo, tmp / "setup")
        for argv, env in commands.values():  # untimed warm-up
            run_command(argv, env, repo)
        reap_orphans()
        setup = {name: Series() for name in commands}
        for group, reps in ((SETUP, args.setup_reps), (IMPORTS, args.import_reps)):
            for rep in range(reps):
                for name in rotated(group, rep):
                    _, wall, cpu = measured(partial(run_command, *commands[name], repo))
                    setup[name].samples.append(Sample(wall, cpu))
        command_line = command_line_seconds(repo, tmp / "setup" / "out")

    publish(report(series, setup, command_line, loads, args), readme_section, args, began, HEADING, AFTER)


if __name__ == "__main__":
    main()
