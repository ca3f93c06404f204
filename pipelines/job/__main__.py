"""``python -P -m pipelines.job SPEC_JSON``: one job, in the sandbox the trusted side made for it.

Exit codes: 0 evaluated (or told to stop), 1 a step failed (``error.json``), 2 usage.
"""

from __future__ import annotations

import sys

from pipelines.entry import process_main
from pipelines.job.run import JobSpec, run_job


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return process_main(argv, "python -m pipelines.job SPEC_JSON",
                        lambda spec: run_job(JobSpec.from_json(spec)))


if __name__ == "__main__":
    sys.exit(main())
