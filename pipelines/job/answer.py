"""How a job receives the trusted side's answer to its fingerprint: one line on stdin, or, where the
job cannot be given a stdin (a Ray job), the content of an answer file that appears atomically."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ANSWER_POLL_SECONDS = 0.1


def read_answer(answer_file: str | None, poll_seconds: float = ANSWER_POLL_SECONDS) -> str:
    """The answer line: from stdin, or (``answer_file`` set) from that file once it exists. The job
    waits as long as it takes; the trusted side stops it when its time is up."""
    if answer_file is None:
        return sys.stdin.readline()
    path = Path(answer_file)
    while True:
        try:
            return path.read_text(encoding="utf-8", errors="replace")[:200]
        except FileNotFoundError:
            time.sleep(poll_seconds)
