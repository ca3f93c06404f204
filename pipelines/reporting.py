"""A run's report files: rendered by ``reports.render`` (imported lazily), stored with the MLflow run,
restored from it on a cache hit.

A report problem never changes a verdict: it is logged (and shows in the log tail), and the result
simply lists no report files.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.report_data import job_fields, report_data
from pipelines.result import PipelineResult
from pipelines.tracking import REPORT_ARTIFACTS, ReportWriter, Tracker

if TYPE_CHECKING:
    from reports.types import HistoryPoint, ReportData

    from pipelines.analysis import Analysis

log = logging.getLogger(__name__)
DATA_FILE = "report.json"
MARKDOWN_FILE = "report.md"


class ReportError(Exception):
    """The report could not be written."""


def render_report_files(data: ReportData, output_dir: Path) -> list[str]:
    """Render report.md, the PNGs and report.json into ``output_dir``; their names, relative to it."""
    try:
        from reports.render import write_report as render
    except ImportError as exc:
        raise ReportError(f"the report renderer is not available (reports.render: {exc})") from exc
    output_dir.mkdir(parents=True, exist_ok=True)
    return [_relative(Path(path), output_dir) for path in render(data, output_dir)]


def write_report_safely(data: ReportData, output_dir: Path) -> list[str]:
    """``render_report_files``, logging a failure instead of raising it ([] then)."""
    try:
        return render_report_files(data, output_dir)
    except Exception as exc:
        log.error("report not written to %s: %s: %s", output_dir, type(exc).__name__, exc)
        return []


def report_writer(
    output_dir: Path,
    tags: Mapping[str, str],
    task: str,
    analysis: Analysis,
    history: Callable[[], Sequence[HistoryPoint]],
) -> ReportWriter:
    """The writer ``Tracker.log_candidate`` calls with the logged result (so the report has its run id)."""

    def write(result: PipelineResult) -> tuple[Path, list[str]]:
        data = report_data(
            result, tags, task, analysis.intervals, analysis.slices,
            analysis.classification, analysis.regression, history(),
        )
        return output_dir, write_report_safely(data, output_dir)

    return write


def restore_report(
    tracker: Tracker, run_id: str, output_dir: Path, tags: Mapping[str, str]
) -> list[str]:
    """Copy a cached run's report files into ``output_dir``, marked as cached; [] if it stored none.

    report.json gets ``cached_from`` and this job's repository, sha and PR; report.md is rendered
    again from it (the PNGs are used as stored).
    """
    names = _artifact_files(tracker, run_id, REPORT_ARTIFACTS)
    if not names:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(tracker.client.download_artifacts(run_id, REPORT_ARTIFACTS, scratch))
        for name in names:
            target = output_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local / name, target)
    if DATA_FILE in names:
        _mark_cached(output_dir, run_id, tags)
    return names


def _mark_cached(output_dir: Path, run_id: str, tags: Mapping[str, str]) -> None:
    path = output_dir / DATA_FILE
    stored: ReportData = json.loads(path.read_text(encoding="utf-8"))  # as render_report_files wrote it
    data: ReportData = {**stored, **job_fields(tags), "cached_from": run_id}
    try:
        from reports.markdown import render_markdown
        from reports.plots import plot_names
        from reports.render import NO_LIMIT, report_json
    except ImportError as exc:
        log.warning("restored report left as stored (reports not importable: %s)", exc)
        return
    path.write_text(report_json(data), encoding="utf-8")
    markdown = render_markdown(data, images=plot_names(data), limit=NO_LIMIT)
    (output_dir / MARKDOWN_FILE).write_text(markdown + "\n", encoding="utf-8")


def _artifact_files(tracker: Tracker, run_id: str, folder: str) -> list[str]:
    """Paths of the files under an artifact folder, relative to it (depth first, sorted)."""
    names: list[str] = []
    for info in tracker.client.list_artifacts(run_id, folder):
        if info.is_dir:
            inner = _artifact_files(tracker, run_id, info.path)
            names += [f"{Path(info.path).name}/{name}" for name in inner]
        else:
            names.append(Path(info.path).name)
    return sorted(names)


def _relative(path: Path, directory: Path) -> str:
    try:
        return path.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        return path.name
