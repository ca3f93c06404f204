"""``python -P -m pipelines.job SPEC_JSON``: one job, in the sandbox the trusted side made for it."""

from __future__ import annotations

import io
import logging
import sys

from pipelines.job.run import JobSpec, run_job


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: 0 evaluated or stopped, 1 a step failed (error.json), 2 usage."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pipelines.job SPEC_JSON", file=sys.stderr)
        return 2
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # the user's prints reach the log even on a hard exit
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_job(JobSpec.from_json(args[0]))


if __name__ == "__main__":
    sys.exit(main())
