"""Publish a finished run's report: images and log under a token, the sticky PR comment,
and the check run's text. The markdown comes from ``reports`` (pure rendering)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.feedback.names import marker
from bot.feedback.report_files import NotPublishable, ReportFiles, read_regular_file
from bot.feedback.sticky_comment import COMMENT_LIMIT, sticky_body
from bot.github import Repo
from bot.github.clients import CommentWriter
from bot.store import RunRecord, RunStore
from reports.checks import CHECK_TEXT_LIMIT
from reports.markdown import render_markdown
from reports.plots import PLOTS
from reports.types import ReportData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    """The published report's markdown, sized for a comment and for a check run."""

    comment: str
    check_text: str
    plots: dict[str, str] = field(default_factory=dict)  # published plot name -> its URL


class ReportPublisher:
    """Turns a run's output directory into public files, a sticky comment and check text."""

    def __init__(self, files: ReportFiles, runs: RunStore, mlflow_ui_url: str | None = None) -> None:
        self._files, self._runs = files, runs
        self._mlflow_ui = (mlflow_ui_url or "").rstrip("/") or None

    def render(
        self, output_dir: Path, log_text: str, commit_url: str | None, experiment_id: str | None = None,
        outcome: str | None = None,
    ) -> Rendered | None:
        """Publish the files in ``output_dir`` and render the report (with ``outcome``, e.g. "promoted
        as version 7", under its title); None without report data.

        The job's code wrote ``output_dir``: its files are read only if they are regular files
        (no symlink to a secret), and nothing is written into it (a planted ``log.txt`` link)."""
        data_file = output_dir / "report.json"
        if not data_file.exists() and not data_file.is_symlink():
            return None
        try:
            data: ReportData = json.loads(read_regular_file(data_file))
        except NotPublishable as refused:
            log.warning("report data %s not used: %s", data_file, refused)
            return None
        if outcome:
            data["outcome"] = outcome
        images = sorted(p for p in output_dir.glob("*.png"))
        published = self._files.publish([*images, output_dir / "report.md"], {"log.txt": log_text.encode()})
        data["links"] = {
            "mlflow_run": self._mlflow_link(data.get("mlflow_run_id"), experiment_id),
            "log": published.url("log.txt"),
            "commit": commit_url,
            "full_report": published.url("report.md") if "report.md" in published.files else None,
        }
        names = [name for name in PLOTS if f"{name}.png" in published.files]  # report order
        comment = render_markdown(data, published.base_url, names, limit=COMMENT_LIMIT - 200)
        check = render_markdown(data, published.base_url, names, limit=CHECK_TEXT_LIMIT)
        return Rendered(comment, check, {name: str(published.url(f"{name}.png")) for name in names})

    def comment(self, api: CommentWriter, repo: Repo, run: RunRecord, report: str) -> int | None:
        """Create or edit the run's sticky comment on its PR; returns the comment id."""
        if run.pr_number is None:
            return None
        comment_id = api.upsert_comment(
            repo, run.pr_number, marker(run.kind),
            lambda previous: sticky_body(run.kind, report, previous),
        )
        self._runs.remember(run.id, "comment_id", comment_id)
        return comment_id

    def _mlflow_link(self, run_id: str | None, experiment_id: str | None) -> str | None:
        if self._mlflow_ui is None or not run_id or not experiment_id:
            return None
        return f"{self._mlflow_ui}/#/experiments/{experiment_id}/runs/{run_id}"


def commit_url(pull: dict[str, Any], sha: str) -> str | None:
    """The web page of ``sha`` in the PR's base repository (None without a PR)."""
    web = ((pull.get("base") or {}).get("repo") or {}).get("html_url")
    return f"{web}/commit/{sha}" if web else None
