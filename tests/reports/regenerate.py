"""Rewrite every golden report: ``python -m tests.reports.regenerate`` (then review the diff)."""

from __future__ import annotations

from tests.fixtures.report_cases import CASES, GOLDEN, golden_path, render_case


def main() -> None:
    """Write ``golden/<case>.md`` for every case and remove stale ``.actual`` files."""
    GOLDEN.mkdir(exist_ok=True)
    for case in CASES:
        golden_path(case).write_text(render_case(case), encoding="utf-8")
        golden_path(case).with_suffix(".md.actual").unlink(missing_ok=True)
        print(golden_path(case))


if __name__ == "__main__":
    main()
