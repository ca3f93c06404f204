"""A report's files: ``report.md`` (with relative image links), its PNGs and ``report.json``."""

from __future__ import annotations

import json
from pathlib import Path

from reports.markdown import render_markdown
from reports.plots import render_plots
from reports.types import ReportData

NO_LIMIT = 2**62  # report.md is the full report: it is never shortened


def write_report(data: ReportData, out_dir: Path) -> list[Path]:
    """Write report.md, one PNG per plot and report.json into ``out_dir``; their paths, in that order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = render_plots(data)
    paths = []
    for name, png in plots.items():
        path = out_dir / f"{name}.png"
        path.write_bytes(png)
        paths.append(path)
    markdown = out_dir / "report.md"
    markdown.write_text(render_markdown(data, images=list(plots), limit=NO_LIMIT) + "\n", encoding="utf-8")
    data_file = out_dir / "report.json"
    data_file.write_text(report_json(data), encoding="utf-8")
    return [markdown, *paths, data_file]


def report_json(data: ReportData) -> str:
    """The data as stable, pretty-printed JSON (sorted keys, trailing newline)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
