"""What a model trained in an environment depends on: the requirements MLflow records with it."""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pipelines.environments.cache import Environment
from pipelines.environments.errors import EnvironmentBuildError
from pipelines.environments.request import EnvironmentRequest
from pipelines.environments.runtime import is_runtime_only
from pipelines.environments.uvtool import run_uv, uv_environment, uv_message, uv_runtime
from pipelines.sandbox import Isolation, Sandbox


def recorded_requirements(env: Environment, request: EnvironmentRequest,
                          isolation: Isolation = Isolation.BWRAP) -> list[str]:
    """``name==version`` of every package installed in ``env``, without the job runtime's own packages
    (unless the repository declared them) and without the repository's own packages.

    uv asks the environment's interpreter, so it runs in a sandbox (with ``isolation``) without network:
    a package may have installed a ``.pth`` file that runs at start-up."""
    sandbox = Sandbox(isolation, readable=[env.path], extra_runtime=[*uv_runtime(), *env.runtime])
    result = run_uv(sandbox, ["pip", "freeze", "--python", str(env.python), "--color", "never"],
                    uv_environment())
    if result.code != 0:
        raise EnvironmentBuildError(f"listing the environment's packages failed: {uv_message(result.lines)}",
                                    result.lines)
    declared = {canonicalize_name(Requirement(line).name) for line in request.requirements}
    pins = []
    for line in result.out:
        if "==" not in line or " @ " in line:  # a repository path installed from its checkout
            continue
        name = line.split("==", 1)[0].strip()
        if is_runtime_only(name) and canonicalize_name(name) not in declared:
            continue
        pins.append(line.strip())
    return pins
