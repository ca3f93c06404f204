"""write_report's files and the ``python -m reports`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.__main__ import main
from reports.render import write_report
from tests.fixtures.report_cases import CASES


def test_write_report_writes_markdown_pngs_and_data(tmp_path: Path) -> None:
    data = CASES["regression"]
    paths = write_report(data, tmp_path / "out")
    assert [p.name for p in paths] == ["report.md", "predicted_vs_actual.png", "residuals.png", "deltas.png",
                                       "history.png", "report.json"]
    markdown = paths[0].read_text(encoding="utf-8")
    assert "![Residuals](residuals.png)" in markdown and markdown.endswith("\n")
    assert json.loads(paths[-1].read_text(encoding="utf-8")) == data


def test_the_full_report_file_is_never_shortened(tmp_path: Path) -> None:
    paths = write_report(CASES["truncated"], tmp_path)
    markdown = paths[0].read_text(encoding="utf-8")
    assert len(markdown) > 65_536 and "✂️" not in markdown and markdown.count("| store ") == 5_000


def test_the_command_prints_or_writes_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "data.json"
    source.write_text(json.dumps(CASES["error"]), encoding="utf-8")
    assert main([str(source)]) == 0
    assert capsys.readouterr().out.startswith("## ⚠️ Staging stopped with an error")
    assert main([str(source), str(tmp_path / "out")]) == 0
    written = [str(tmp_path / "out" / name) for name in ("report.md", "report.json")]
    assert capsys.readouterr().out.split() == written
