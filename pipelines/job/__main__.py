"""``python -P -m pipelines.job SPEC_JSON``: one job, in the sandbox the trusted side made for it.
``python -P -m pipelines.job --warm``: the same, started ahead; its spec comes on stdin
(``pipelines.job.warm``).

Exit codes: 0 evaluated (or told to stop), 1 a step failed (``error.json``), 2 usage.
"""

from __future__ import annotations

import sys

from pipelines.entry import process_main
from pipelines.job.run import JobSpec, run_job
from pipelines.job.warm import WARM_FLAG, serve


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return process_main(argv, f"python -m pipelines.job SPEC_JSON|{WARM_FLAG}",
                        lambda spec: serve() if spec == WARM_FLAG else run_job(JobSpec.from_json(spec)))


if __name__ == "__main__":
    sys.exit(main())
