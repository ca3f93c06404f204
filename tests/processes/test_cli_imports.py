"""``serve``'s supervisor names prometheus-client's multiprocess folder before prometheus-client is imported:
building the CLI's parser must not import it (a subcommand's module that did broke /metrics' sums)."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_parser_leaves_prometheus_client_unimported() -> None:
    code = "import sys, bot.cli; bot.cli.build_parser(); print('prometheus_client' in sys.modules)"
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "False"
