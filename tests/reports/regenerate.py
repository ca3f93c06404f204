"""Rewrite every golden report: ``python -m tests.reports.regenerate`` (then review the diff)."""

from __future__ import annotations

from pathlib import Path

from reports.markdown import render_markdown
from reports.plots import plot_names
from tests.reports.cases import CASES, IMAGE_BASE

GOLDEN = Path(__file__).parent / "golden"
COMMAND = "python -m tests.reports.regenerate"


def golden_path(case: str) -> Path:
    """Where the golden markdown of ``case`` lives."""
    return GOLDEN / f"{case}.md"


def render_case(case: str) -> str:
    """The markdown of ``case`` as a PR comment shows it, with the images it would publish."""
    data = CASES[case]
    return render_markdown(data, image_base=IMAGE_BASE, images=plot_names(data)) + "\n"


def main() -> None:
    """Write ``golden/<case>.md`` for every case and remove stale ``.actual`` files."""
    GOLDEN.mkdir(exist_ok=True)
    for case in CASES:
        golden_path(case).write_text(render_case(case), encoding="utf-8")
        golden_path(case).with_suffix(".md.actual").unlink(missing_ok=True)
        print(golden_path(case))


if __name__ == "__main__":
    main()
