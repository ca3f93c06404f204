"""Real builds with uv against the package index: a package the App does not ship, the job runtime,
uv's own messages on failure, and a repository package built without network."""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from pipelines.environments import (
    EnvironmentBuildError,
    EnvironmentCache,
    EnvironmentRequest,
    find_environment,
    recorded_requirements,
)
from pipelines.sandbox import Isolation, Sandbox
from tests.fixtures.environments import RepoFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # each build copies ~300 MB of wheels

IMPORT_RUNTIME = ("import cloudpickle, lightgbm, numpy, pandas, pydantic, sklearn, yaml; "
                  "print(lightgbm.__version__, cloudpickle.__version__)")
NETWORK_PROBE_SETUP = '''\
import socket
from setuptools import setup

try:
    socket.create_connection(("1.1.1.1", 53), timeout=5).close()
    outcome = "reachable"
except OSError as exc:
    outcome = f"unreachable errno={exc.errno}"
with open("netprobe/outcome.py", "w") as file:
    file.write(f"OUTCOME = {outcome!r}\\n")
setup(name="netprobe", version="0.1", packages=["netprobe"])
'''


def test_a_package_the_app_lacks_installs_with_the_job_runtime(env_cache: EnvironmentCache,
                                                              make_repo: RepoFactory) -> None:
    repo = make_repo({"requirements.txt": "lightgbm==4.7.0  # the model\n"})
    request = find_environment(repo, None)
    assert request is not None
    with env_cache.use(request, repo, "base") as env:
        assert (env.built, env.source, env.python) == (True, "requirements.txt", env.path / "bin" / "python")
        assert any("lightgbm==4.7.0" in line for line in env.log)
        # the job runs it in a sandbox that shows the environment's runtime and nothing else of it
        probe = Sandbox(Isolation.BWRAP, extra_runtime=env.runtime).command(
            [str(env.python), "-I", "-c", IMPORT_RUNTIME])
        completed = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=60)
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.split() == ["4.7.0", version("cloudpickle")]
        pins = recorded_requirements(env, request)
    assert "lightgbm==4.7.0" in pins and f"cloudpickle=={version('cloudpickle')}" in pins
    assert any(pin.startswith("numpy==") for pin in pins)
    assert not [pin for pin in pins if pin.startswith(("pydantic", "pyyaml", "annotated-types"))]


def test_declared_runtime_packages_stay_recorded(env_cache: EnvironmentCache) -> None:
    request = EnvironmentRequest(source="test", requirements=("PyYAML==6.0.2",))
    with env_cache.use(request, None, "base") as env:
        pins = recorded_requirements(env, request)
    assert "pyyaml==6.0.2" in [pin.lower() for pin in pins]
    assert not [pin for pin in pins if pin.startswith("pydantic")]


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("modelgate-no-such-package-xyz==1.0", ["installing the requirements failed: No solution found when "
                                                "resolving dependencies",
                                                "modelgate-no-such-package-xyz was not found in the package "
                                                "registry"]),
        ("pyperclip==1.9.0", ["pyperclip==1.9.0 has no usable wheels", "--no-build"]),  # sdist only
    ],
)
def test_a_failed_install_carries_uvs_message(env_cache: EnvironmentCache, requirement: str,
                                              expected: list[str]) -> None:
    request = EnvironmentRequest(source="test", requirements=(requirement,))
    with pytest.raises(EnvironmentBuildError) as caught, env_cache.use(request, None, "base"):
        pass
    for text in expected:
        assert text in caught.value.message
    assert "Traceback" not in caught.value.message and caught.value.log[0].startswith("$ uv venv")
    assert [path.name for path in env_cache.root.iterdir() if path.name != "locks"] == []


def test_a_repository_package_is_built_without_network(env_cache: EnvironmentCache,
                                                       make_repo: RepoFactory) -> None:
    repo = make_repo({"requirements.txt": "-e .\nsix==1.16.0\n", "setup.py": NETWORK_PROBE_SETUP,
                      "netprobe/__init__.py": "NAME = 'netprobe'\n"})
    request = find_environment(repo, None)
    assert request is not None and request.local_paths == (".",)
    with env_cache.use(request, repo, "base") as env:
        where = subprocess.run([str(env.python), "-I", "-c", "import netprobe.outcome as o, netprobe; "
                                "print(o.OUTCOME); print(netprobe.__file__)"],
                               capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
        pins = recorded_requirements(env, request)
    assert where[0] == "unreachable errno=101"  # ENETUNREACH: the sandbox has no network at all
    assert Path(where[1]).is_relative_to(env.path)  # installed into the environment, not editable
    assert not (repo / "netprobe" / "outcome.py").exists()  # the build ran on a copy
    assert "six==1.16.0" in pins and not [pin for pin in pins if "netprobe" in pin]
