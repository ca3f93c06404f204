"""Rewrite every golden message: ``python -m tests.feedback.regenerate`` (then review the diff)."""

from __future__ import annotations

from tests.fixtures.golden import regenerate
from tests.fixtures.message_cases import CASES, GOLDEN, golden_path, render_case


def main() -> None:
    """Write ``golden/<case>.md`` for every case; remove ``.actual`` files and goldens of gone cases."""
    regenerate(CASES, golden_path, render_case)
    for stale in sorted(GOLDEN.glob("*.md*")):
        if stale.name.split(".md")[0] not in CASES:
            stale.unlink()
            print(f"removed {stale}")


if __name__ == "__main__":
    main()
