"""Repository environments: the dependencies a repository declares (``request``), built with uv into a
cached, read-only virtualenv (``build``, ``cache``) that its job runs in, with the packages modelgate's
own job code needs (``runtime``)."""

from pipelines.environments.cache import Environment, EnvironmentCache
from pipelines.environments.errors import EnvironmentBuildError, EnvironmentRequestError
from pipelines.environments.key import environment_key
from pipelines.environments.recorded import recorded_requirements
from pipelines.environments.request import EnvironmentRequest, find_environment, request_from_pins
from pipelines.environments.runtime import RUNTIME_ONLY, job_runtime

__all__ = ["RUNTIME_ONLY", "Environment", "EnvironmentBuildError", "EnvironmentCache", "EnvironmentRequest",
           "EnvironmentRequestError", "environment_key", "find_environment", "job_runtime",
           "recorded_requirements", "request_from_pins"]
