"""Report rendering time: markdown + every plot of the example-sized classification report.

The case is ``tests.fixtures.report_cases.make_report()``: the wine classifier's 54 evaluation rows,
3 classes, a champion, slices and four promoted versions of history (5 plots: confusion, roc,
pr, deltas, history). Warm: ``--runs`` full renders in this process after one untimed warm-up,
median per render and per part. Cold: ``--cold`` fresh interpreters each importing the renderer
and rendering once (what a worker that starts a process per run pays), median.

Run: ``.venv/bin/python bench/render_report.py`` (prints a markdown table).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the case lives with the tests

from reports.figures import build_figure, png_bytes  # noqa: E402
from reports.markdown import render_markdown  # noqa: E402
from reports.plots import plot_names, render_plots  # noqa: E402
from reports.types import ReportData  # noqa: E402
from tests.fixtures.report_cases import IMAGE_BASE, make_report  # noqa: E402

BUDGET = 1.0  # seconds per full render
COLD = """
import time
start = time.perf_counter()
from reports.markdown import render_markdown
from reports.plots import plot_names, render_plots
from tests.fixtures.report_cases import make_report
data = make_report()
render_markdown(data, images=plot_names(data))
render_plots(data)
print(time.perf_counter() - start)
"""


def _median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _full_render() -> None:
    data = make_report()
    render_markdown(data, IMAGE_BASE, plot_names(data))
    render_plots(data)


def _plot(name: str, data: ReportData) -> bytes:
    return png_bytes(build_figure(name, data))


def _cold_ms(runs: int) -> float:
    times = [float(subprocess.run([sys.executable, "-c", COLD], cwd=ROOT, check=True, capture_output=True,
                                  text=True).stdout) for _ in range(runs)]
    return statistics.median(times) * 1000


def main() -> int:
    """Measure, print the table, and fail (exit 1) when a warm full render exceeds the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="warm full renders (default 20)")
    parser.add_argument("--cold", type=int, default=3, help="fresh processes (default 3)")
    args = parser.parse_args()
    data = make_report()
    _full_render()  # warm-up: imports, font cache
    rows = [("full render (markdown + all plots)", _median_ms(_full_render, args.runs))]
    markdown = partial(render_markdown, data, IMAGE_BASE, plot_names(data))
    rows.append(("markdown", _median_ms(markdown, args.runs)))
    for name, png in render_plots(data).items():
        ms = _median_ms(partial(_plot, name, data), args.runs)
        rows.append((f"plot `{name}` ({len(png) / 1000:.1f} KB)", ms))
    if args.cold:
        rows.append(("cold: fresh process, imports + first full render", _cold_ms(args.cold)))
    print(f"| part | median ms (warm: {args.runs} runs, cold: {args.cold} processes) |\n|---|---:|")
    for part, ms in rows:
        print(f"| {part} | {ms:.1f} |")
    full = rows[0][1] / 1000
    print(f"\nfull render {full:.3f} s (budget {BUDGET:.1f} s): {'ok' if full < BUDGET else 'OVER BUDGET'}")
    return 0 if full < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
