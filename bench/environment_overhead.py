"""What a repository's environment costs: a staging run in a cached one, building one, and a run on Ray.

One run, in this order (the README section says more):

1. Builds, timed once each: wine-lightgbm's environment (``tests/fixtures/repos``) with a fully cold uv
   cache, again in a fresh root with a warm one; a copy of the example with ``requirements.txt`` =
   ``scikit-learn`` (the App's packages and versions: only a separate virtualenv).
2. Staging runs in this process, interleaved with rotating order: ``run_pipeline(..., use_cache=False,
   policy=JobPolicy(environments=EnvironmentSettings(root)))`` of the example in the App's runtime, the
   example in its scikit-learn environment, wine-lightgbm in its environment. Wall time, CPU time (this
   process and its children), step durations; the interpreter lookup is forgotten before each run, as in
   the bot's fresh run process.
3. The ``environment`` step's parts one by one; the job's interpreter (start, imports) in its sandbox,
   the App's against the environment's.
4. With the ``ray`` extra: a local Ray head (``tests/fixtures/ray_head.py``), an untimed warm-up run, then
   ``--ray-pairs`` runs with ``JobPolicy(ray=RayTarget(address, storage))`` interleaved with local ones.

Run: ``.venv/bin/python bench/environment_overhead.py --pairs 5`` (``--no-readme``: print only).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import logging
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from isolation_overhead import (
    JOB_IMPORTS,
    Sample,
    Series,
    become_subreaper,
    load_summary,
    machine_load,
    measured,
    reap_orphans,
    rotated,
    run_command,
    signed,
)
from readme_section import ROOT, publish
from staging_wall import EXAMPLE, STEP_ROWS, same_metrics, step_rows

from pipelines.environments import EnvironmentCache, environment_key, find_environment, recorded_requirements
from pipelines.environments.frozen import freeze
from pipelines.environments.interpreter import _find, find_interpreter
from pipelines.job_process import EnvironmentSettings, JobPolicy, job_environment
from pipelines.result import PipelineResult
from pipelines.sandbox import Isolation, Sandbox, check_isolation
from pipelines.steps import run_pipeline

HEADING = "## Environment overhead: a cached repository environment vs the App's runtime"
AFTER = "## Sandbox overhead: isolation=bwrap vs none"
LIGHTGBM = ROOT / "tests" / "fixtures" / "repos" / "wine-lightgbm"
VARIANTS = ("plain", "sklearn", "lightgbm")
LABELS = {"plain": "example, the App's runtime", "sklearn": "example, `requirements.txt`: scikit-learn",
          "lightgbm": "wine-lightgbm, `requirements.txt`: lightgbm==4.7.0"}
TARGET_ADDED = 0.3
MB = 1024 * 1024
PROBE = "interpreter lookup (probe: once per process)"
LISTED = "recorded requirements (the list written at build)"
FREEZE = "`uv pip freeze` in bwrap (before: every run)"
T = TypeVar("T")
STEPS = (STEP_ROWS[0], ("environment (request, key, lock, recorded requirements)", "environment"),
         *STEP_ROWS[1:])


def run_once(repo: Path, uri: str, policy: JobPolicy) -> PipelineResult:
    """One uncached staging run in this process; the interpreter lookup starts afresh, as in a new process."""
    _find.cache_clear()
    with contextlib.redirect_stdout(io.StringIO()):  # the job's own log lines: its tail keeps them
        result = run_pipeline(repo, "staging", uri, use_cache=False, policy=policy)
    if result.status == "error":
        raise SystemExit(f"pipeline error in {repo}: {result.error}\n" + "\n".join(result.log_tail))
    return result


def spread(series: Series) -> float:
    """Max − min wall seconds of a series."""
    walls = [sample.wall for sample in series.samples]
    return max(walls) - min(walls)


def measured_here(run: Callable[[], T]) -> tuple[T, float, float]:
    """``measured``, with this process's own CPU time added: the trusted side of a run works in it."""
    before = own_cpu()
    value, wall, cpu = measured(run)
    return value, wall, cpu + own_cpu() - before


def own_cpu() -> float:
    """CPU seconds (user + system) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(root: Path, uv_cache: Path, repo: Path) -> tuple[float, int, int]:
    """Build ``repo``'s environment under ``root``: seconds, its size and the uv cache's (bytes)."""
    cache = EnvironmentCache(root, None, Isolation.BWRAP, uv_cache=uv_cache)
    request = find_environment(repo, None)
    assert request is not None
    with cache.use(request, repo, "base") as env:
        if not env.built:
            raise SystemExit(f"{root} already held the environment of {repo.name}")
        return env.seconds, folder_bytes(env.path), folder_bytes(uv_cache)


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder``."""
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def step_parts(repo: Path, root: Path, reps: int) -> dict[str, list[float]]:
    """Seconds of each part of the ``environment`` step for ``repo`` (its environment cached), interleaved."""
    cache = EnvironmentCache(root, None, Isolation.BWRAP)
    request = find_environment(repo, None)
    assert request is not None
    with cache.use(request, repo, "base") as env:
        def use() -> None:
            with cache.use(request, repo, "base"):
                pass

        def probe() -> None:
            _find.cache_clear()
            find_interpreter(request.python)

        parts: dict[str, Callable[[], object]] = {
            "find the request (read requirements.txt)": partial(find_environment, repo, None),
            PROBE: probe,
            "environment key": partial(environment_key, request, repo, "base"),
            "cache use (lock, last-used mark)": use,
            LISTED: partial(recorded_requirements, env, request),
            FREEZE: partial(freeze, env.path, env.runtime, Isolation.BWRAP),
        }
        took: dict[str, list[float]] = {name: [] for name in parts}
        for rep in range(reps):
            for name in rotated(tuple(parts), rep):
                started = time.perf_counter()
                parts[name]()
                took[name].append(time.perf_counter() - started)
    return took


def interpreter_commands(repo: Path, scratch: Path, env_python: Path, runtime: tuple[Path, ...]
                         ) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The job's sandbox starting the App's interpreter and the environment's: bare, and with its imports."""
    out = scratch / "out"
    out.mkdir(parents=True, exist_ok=True)
    commands = {}
    for label, python, folders in (("App", Path(sys.executable), ()), ("environment", env_python, runtime)):
        sandbox = Sandbox(Isolation.BWRAP, workdir=repo, writable=[repo, out], extra_runtime=folders)
        env = job_environment(JobPolicy(), scratch, None if label == "App" else python)
        commands[f"{label}: start"] = (sandbox.command([str(python), "-P", "-c", "pass"]), env)
        commands[f"{label}: imports"] = (sandbox.command([str(python), "-P", "-c", JOB_IMPORTS]), env)
    return commands


def ray_runs(repo: Path, uri: str, storage: Path, pairs: int) -> tuple[dict[str, Series], float, float] | str:
    """Runs on a local Ray head and here, interleaved: the series, the head's start and the warm-up run's
    seconds; or why Ray could not be measured."""
    sys.path.insert(0, str(ROOT))
    try:
        import ray.job_submission  # noqa: F401

        from pipelines.ray_jobs import RayTarget
        from tests.fixtures.ray_head import RayHead
    except ImportError as exc:
        return f"not measured: {exc}"
    head = RayHead()
    try:
        started = time.perf_counter()
        head.start()
        head_seconds = time.perf_counter() - started
        policies = {"ray": JobPolicy(ray=RayTarget(head.address, storage)), "local": JobPolicy()}
        started = time.perf_counter()
        run_once(repo, uri, policies["ray"])
        warmup = time.perf_counter() - started
        series = {name: Series() for name in policies}
        for rep in range(pairs):
            for name in rotated(tuple(policies), rep):
                started = time.perf_counter()
                result = run_once(repo, uri, policies[name])
                wall = time.perf_counter() - started
                series[name].samples.append(Sample(wall, 0.0, dict(result.durations)))
        return series, head_seconds, warmup
    except (RuntimeError, SystemExit, OSError) as exc:
        return f"not measured: {exc}"
    finally:
        head.close()


def report(runs: dict[str, Series], builds: dict[str, tuple[float, int, int]], parts: dict[str, list[float]],
           starts: dict[str, Series], ray: tuple[dict[str, Series], float, float] | str,
           loads: list[tuple[float, float | None]], args: argparse.Namespace) -> str:
    """The markdown tables and sentences."""
    plain, sklearn, lightgbm = (runs[name] for name in VARIANTS)

    def env_step(series: Series) -> float:
        return statistics.median(s.durations.get("environment", 0.0) for s in series.samples)

    lines = ["| staging run | median wall s | median CPU s | `environment` step s | wall − plain s (paired) "
             "| CPU − plain s (paired) |", "|---|---:|---:|---:|---:|---:|"]
    for name in VARIANTS:
        series = runs[name]
        wall, cpu = ("—", "—") if name == "plain" else (signed(series.paired(plain)),
                                                         signed(series.paired(plain, "cpu")))
        lines.append(f"| {LABELS[name]} | {series.median():.2f} | {series.median('cpu'):.2f} | "
                     f"{env_step(series):.3f} | {wall} | {cpu} |")
    added, step = sklearn.paired(plain), env_step(sklearn)
    verdict = "under" if step < TARGET_ADDED else "NOT under"
    lines += ["", f"**A cached environment: {signed(added)} s per run** (scikit-learn-only environment "
              f"vs the App's runtime, median of the {args.pairs} same-repetition differences; CPU "
              f"{signed(sklearn.paired(plain, 'cpu'))} s; **ratio {sklearn.median() / plain.median():.3f}** "
              f"of the median walls). Its own `environment` step takes **{step:.3f} s** (median): {verdict} "
              f"the {TARGET_ADDED} s target; everything after it is the same job and the same packages, "
              f"and the plain runs alone spread over {spread(plain):.2f} s (max − min wall). wine-lightgbm "
              f"in its environment against the plain example: {signed(lightgbm.paired(plain))} s, ratio "
              f"{lightgbm.median() / plain.median():.3f} (its own model: LightGBM's import and training).",
              ""]
    lines += ["Where the `environment` step of the scikit-learn-only run goes "
              f"({args.part_reps} repetitions, interleaved, in one process; median ms):", "",
              "| part | median ms |", "|---|---:|"]
    lines += [f"| {name} | {statistics.median(took) * 1000:.1f} |" for name, took in parts.items()]
    freeze_s, listed_s, probe_s = (statistics.median(parts[name]) for name in (FREEZE, LISTED, PROBE))
    lines += ["", "Before the package list was written into the environment at build time, every run also "
              f"ran `uv pip freeze` in a sandbox ({freeze_s * 1000:.0f} ms here) instead of reading the list "
              f"({listed_s * 1000:.1f} ms): the step took about {step + freeze_s - listed_s:.2f} s. The "
              f"interpreter lookup ({probe_s * 1000:.0f} ms) is paid once per process, so once per run in "
              "the bot's fresh run process.", ""]
    lines += ["The job's interpreter in its bwrap sandbox, the App's against the environment's "
              f"({args.start_reps} repetitions of the start, {args.import_reps} of the imports; "
              "interleaved):",
              "", "| command | median wall ms | median CPU ms |", "|---|---:|---:|"]
    for name, series in starts.items():
        lines.append(f"| {name} | {series.median() * 1000:.0f} | {series.median('cpu') * 1000:.0f} |")
    def added_ms(what: str, measure: str) -> str:
        return signed(starts[f"environment: {what}"].paired(starts[f"App: {what}"], measure) * 1000, 0)

    lines += ["", f"The environment's interpreter against the App's (paired medians): start "
              f"{added_ms('start', 'wall')} ms wall, {added_ms('start', 'cpu')} ms CPU; imports "
              f"{added_ms('imports', 'wall')} ms wall, {added_ms('imports', 'cpu')} ms CPU. The App's "
              "runtime has more to start and import: `.pth` files (the editable install, setuptools' "
              "distutils hack) and pyarrow (mlflow's dependency), which pandas imports whenever it is "
              "installed (`python -X importtime -c 'import pyarrow.compute'`, by hand: 0.36 s); the "
              "repository's environment has neither. The App's imports alone spread over "
              f"{spread(starts['App: imports']) * 1000:.0f} ms (max − min wall) here.", ""]
    lines += ["Building the environments (once each, in this order; the environment's size, and the uv "
              "download cache's after the build):", "", "| build | s | environment MB | uv cache MB |",
              "|---|---:|---:|---:|"]
    lines += [f"| {name} | {seconds:.1f} | {env / MB:.0f} | {uv / MB:.0f} |"
              for name, (seconds, env, uv) in builds.items()]
    cold, warm = (seconds for seconds, _, _ in list(builds.values())[:2])
    lines += ["", f"The warm download cache saves {cold - warm:.1f} s of the cold build's {cold:.1f} s; the "
              "rest is the install (every file copied out of uv's cache), bytecode compilation and the "
              "package list (not timed one by one)."]
    lines += ["", "Where the staging runs' time goes (median seconds; steps from the result's `durations`, "
              "\"outside\" = wall − `total`):", ""]
    lines += step_rows([(name, [s.durations for s in runs[name].samples], runs[name].median())
                        for name in VARIANTS], STEPS)
    lines += ["", *ray_lines(ray, args), "",
              f"Machine load while measuring (taken after each repetition): {load_summary(loads)}."]
    return "\n".join(lines)


def ray_lines(ray: tuple[dict[str, Series], float, float] | str, args: argparse.Namespace) -> list[str]:
    """The Ray paragraph and table."""
    if isinstance(ray, str):
        return [f"Ray: {ray}."]
    series, head, warmup = ray
    there, here = series["ray"], series["local"]
    lines = [f"The example's run with its job on a local Ray head (`JobPolicy(ray=RayTarget(...))`; the head "
             f"took {head:.1f} s to start, the untimed first run {warmup:.1f} s) against the same run here "
             f"({args.ray_pairs} interleaved pair(s)):", "", "| job runs | median wall s | `job` step s |",
             "|---|---:|---:|"]
    for name, label in (("local", "here (bwrap)"), ("ray", "on Ray (the cluster's Python, no bwrap)")):
        job = statistics.median(s.durations.get("job", 0.0) for s in series[name].samples)
        lines.append(f"| {label} | {series[name].median():.2f} | {job:.2f} |")
    lines += ["", f"**Ray / local = {there.median() / here.median():.2f}** ({signed(there.paired(here))} s, "
              "paired median)."]
    return lines


def readme_section(body: str, args: argparse.Namespace, cpus: int, minutes: float) -> str:
    """The README section: what was measured, the command, the tables."""
    today = datetime.date.today().isoformat()
    command = (f".venv/bin/python bench/environment_overhead.py --pairs {args.pairs} --part-reps "
               f"{args.part_reps} --start-reps {args.start_reps} --import-reps {args.import_reps} "
               f"--ray-pairs {args.ray_pairs}")
    return f"""{HEADING}

`bench/environment_overhead.py` measures in one run what a repository's own environment
(`pipelines/environments/`: a virtualenv built by uv from its `requirements.txt`, cached) costs. It builds
the environment of `tests/fixtures/repos/wine-lightgbm` (LightGBM) with a fully cold uv cache and again in
a fresh root with a warm one, and the environment of a copy of `examples/wine-classifier` whose
`requirements.txt` names only `scikit-learn` (the same packages at the same versions as the App's runtime:
it differs only by being a separate virtualenv). Then, interleaved (the order rotates every repetition),
uncached staging runs (`run_pipeline(..., use_cache=False, policy=JobPolicy(environments=
EnvironmentSettings(root)))` in the bench's process, the interpreter lookup forgotten before each run as
in the bot's fresh run process) of the example in the App's runtime, the example in its scikit-learn-only
environment, and wine-lightgbm in its environment; all timed once their environment is cached. Wall time
and CPU time (the bench's process and every process it started); the scikit-learn runs must compute the
plain runs' metric values (checked). Then the `environment` step's parts one by one, the job's
interpreter in its sandbox, and a run with its job on a local Ray head against one here.

```bash
{command}
# prints the tables and rewrites this section (--no-readme: print only)
```

Run of {today} on this project's {cpus}-core machine ({minutes:.1f} min in all), shared with other work
while measuring (load figures at the end): absolute seconds are inflated; differences and ratios come
from the same run, interleaved.

{body}
"""


def main() -> None:
    """Build, measure, print the tables, update the README section."""
    parser = argparse.ArgumentParser(description="Cost of a cached repository environment to a staging run.")
    parser.add_argument("--pairs", type=int, default=5, help="repetitions of the three staging runs")
    parser.add_argument("--part-reps", type=int, default=10,
                        help="repetitions of the environment step's parts")
    parser.add_argument("--start-reps", type=int, default=10, help="repetitions of the interpreter starts")
    parser.add_argument("--import-reps", type=int, default=2, help="repetitions of the job's imports")
    parser.add_argument("--ray-pairs", type=int, default=1, help="Ray/local pairs (0: no Ray)")
    parser.add_argument("--no-readme", action="store_true", help="print only")
    args = parser.parse_args()
    began = time.perf_counter()
    quiet = logging.StreamHandler()  # runs log their steps at INFO (kept for error results): not printed
    quiet.setLevel(logging.WARNING)
    logging.getLogger().addHandler(quiet)
    check_isolation(Isolation.BWRAP)
    become_subreaper()

    with tempfile.TemporaryDirectory(prefix="modelgate-environment-") as temp:
        tmp = Path(temp)
        repos = {"plain": tmp / "plain", "sklearn": tmp / "sklearn", "lightgbm": tmp / "lightgbm"}
        for name, source in (("plain", EXAMPLE), ("sklearn", EXAMPLE), ("lightgbm", LIGHTGBM)):
            shutil.copytree(source, repos[name], ignore=shutil.ignore_patterns("__pycache__"))
        (repos["sklearn"] / "requirements.txt").write_text("scikit-learn\n", encoding="utf-8")
        root, fresh = tmp / "envs", tmp / "envs-fresh"
        cold = "wine-lightgbm, fully cold (fresh root, empty uv cache)"
        builds = {cold: build(root, root / "uv-cache", repos["lightgbm"])}
        print(f"cold build {builds[cold][0]:.1f} s", flush=True)
        uv_cache, warm = root / "uv-cache", "wine-lightgbm, fresh root, warm uv download cache"
        builds[warm] = build(fresh, uv_cache, repos["lightgbm"])
        shutil.rmtree(fresh)
        builds["example + scikit-learn, warm uv download cache"] = build(root, uv_cache, repos["sklearn"])
        print("builds: " + ", ".join(f"{name} {b[0]:.1f} s" for name, b in builds.items()), flush=True)

        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        policy = JobPolicy(environments=EnvironmentSettings(root))
        expected = run_once(repos["plain"], uri, policy).candidate_metrics  # untimed warm-up of all three
        for name in ("sklearn", "lightgbm"):
            run_once(repos[name], uri, policy)
        reap_orphans()  # the builds' and warm-ups' sandboxes: their CPU time is no run's
        runs = {name: Series() for name in VARIANTS}
        loads = []
        for rep in range(args.pairs):
            for name in rotated(VARIANTS, rep):
                result, wall, cpu = measured_here(partial(run_once, repos[name], uri, policy))
                if name != "lightgbm" and not same_metrics(expected, result.candidate_metrics):
                    raise SystemExit(f"{name}: metrics differ: {expected} vs {result.candidate_metrics}")
                runs[name].samples.append(Sample(wall, cpu, dict(result.durations)))
            loads.append(machine_load())
            walls = ", ".join(f"{name} {runs[name].samples[-1].wall:.2f} s" for name in VARIANTS)
            print(f"rep {rep + 1}: {walls} ({load_summary(loads[-1:])})", flush=True)

        parts = step_parts(repos["sklearn"], root, args.part_reps)
        request = find_environment(repos["sklearn"], None)
        assert request is not None
        with EnvironmentCache(root, None, Isolation.BWRAP).use(request, repos["sklearn"], "base") as env:
            commands = interpreter_commands(repos["plain"], tmp / "starts", env.python, env.runtime)
            for argv, variables in commands.values():  # untimed warm-up
                run_command(argv, variables, repos["plain"])
            reap_orphans()
            starts = {name: Series() for name in commands}
            for group, reps in (((n for n in commands if n.endswith("start")), args.start_reps),
                                ((n for n in commands if n.endswith("imports")), args.import_reps)):
                names = tuple(group)
                for rep in range(reps):
                    for name in rotated(names, rep):
                        _, wall, cpu = measured(partial(run_command, *commands[name], repos["plain"]))
                        starts[name].samples.append(Sample(wall, cpu))
        ray = (ray_runs(repos["plain"], uri, tmp / "ray-storage", args.ray_pairs) if args.ray_pairs > 0
               else "not measured (--ray-pairs 0)")

    body = report(runs, builds, parts, starts, ray, loads, args)
    publish(body, readme_section, args, began, HEADING, AFTER)


if __name__ == "__main__":
    main()
