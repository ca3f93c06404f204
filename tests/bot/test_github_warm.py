"""``GitHubApp.warm``: what githubkit imports on a first acknowledgement is imported at start."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from bot.github.app import ACKNOWLEDGEMENT_MODELS, GitHubApp

key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption()).decode()
app = GitHubApp(1, key, "http://127.0.0.1:9")
if {warm}:
    app.warm()
before = set(sys.modules)
namespace = type(app._github.rest.checks).__module__
models = importlib.import_module(namespace.rsplit(".rest.", 1)[0] + ".models")
for name in ACKNOWLEDGEMENT_MODELS:
    getattr(models, name)
print(len(set(sys.modules) - before))
"""


def _modules_imported_by_first_use(warm: bool) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE.format(warm=warm)], capture_output=True, text=True,
                          check=True, timeout=120)
    return int(done.stdout.strip().splitlines()[-1])


def test_a_warm_client_imports_nothing_on_its_first_acknowledgement() -> None:
    assert _modules_imported_by_first_use(warm=False) > 0  # what warm saves: the probe sees it
    assert _modules_imported_by_first_use(warm=True) == 0
