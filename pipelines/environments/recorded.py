"""What a model trained in an environment depends on: the requirements MLflow records with it."""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipelines.environments.cache import Environment
from pipelines.environments.frozen import freeze, read_frozen
from pipelines.environments.request import EnvironmentRequest
from pipelines.environments.runtime import is_runtime_only
from pipelines.sandbox import Isolation


def recorded_requirements(env: Environment, request: EnvironmentRequest,
                          isolation: Isolation = Isolation.BWRAP) -> list[str]:
    """``name==version`` of every package installed in ``env``, without the job runtime's own packages
    (unless the repository declared them) and without the repository's own packages.

    The list is the one written into the environment when it was built; an environment without one
    (built before) is asked with ``uv pip freeze`` in a sandbox run with ``isolation``."""
    listed = read_frozen(env.path)
    if listed is None:
        listed = freeze(env.path, env.runtime, isolation)
    declared = {canonicalize_name(Requirement(line).name) for line in request.requirements}
    pins = []
    for line in listed:
        if "==" not in line or " @ " in line:  # a repository path installed from its checkout
            continue
        name = line.split("==", 1)[0].strip()
        if is_runtime_only(name) and canonicalize_name(name) not in declared:
            continue
        pins.append(line.strip())
    return pins
