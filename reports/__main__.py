"""Render a report from its JSON data.

``python -m reports report.json``          prints the markdown (GitHub comment size)
``python -m reports report.json OUT_DIR``  writes report.md, the PNGs and report.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reports.markdown import render_markdown
from reports.render import write_report


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the report data (reports.types.ReportData as JSON)")
    parser.add_argument("out_dir", type=Path, nargs="?", help="write the report's files here")
    args = parser.parse_args(argv)
    data = json.loads(args.data.read_text(encoding="utf-8"))
    if args.out_dir is None:
        print(render_markdown(data))
    else:
        for path in write_report(data, args.out_dir):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
