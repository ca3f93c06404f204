"""Rewrite every golden report: ``python -m tests.reports.regenerate`` (then review the diff)."""

from __future__ import annotations

from tests.fixtures.golden import regenerate
from tests.fixtures.report_cases import CASES, golden_path, render_case


def main() -> None:
    """Write ``golden/<case>.md`` for every case and remove stale ``.actual`` files."""
    regenerate(CASES, golden_path, render_case)


if __name__ == "__main__":
    main()
