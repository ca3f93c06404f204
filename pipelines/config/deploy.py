"""The `deploy:` and `production:` sections of `.modelgate.yml` (what happens after promotion)."""

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoDeploy(_Strict):
    """Promotion only: the `champion` alias moves, nothing is served."""

    kind: Literal["none"] = Field("none", description="No deployment.")


class CommandDeploy(_Strict):
    """Run a command of the repository with MODEL_URI and MODEL_VERSION in its environment."""

    kind: Literal["command"] = Field(description="Deploy by running a command.")
    command: str = Field(min_length=1, description="Command line (no shell), run from the repository root.")
    timeout_seconds: int = Field(600, ge=1, le=86400, description="Time limit of the command.")


class ServeDeploy(_Strict):
    """Serve the champion with MLflow's scoring server, blue/green behind a stable address the App decides."""

    kind: Literal["mlflow-serve"] = Field(description="Deploy with MLflow's scoring server.")
    port: int | None = Field(
        None, ge=1, le=65535,
        description="The stable port clients call: one of the App's ports (MODELGATE_SERVE_PORTS) that "
        "serves no other repository's model. Omit it and the App assigns one, the same for this repository "
        "and model.",
    )
    host: str | None = Field(
        None, description="The App decides the address the stable port listens on (MODELGATE_SERVE_HOST); "
        "when set, this must be that address."
    )


ROUTE_PREFIX_PATTERN = r"^(/[A-Za-z0-9][A-Za-z0-9._~-]*)+$"


class RayServeDeploy(_Strict):
    """Serve the champion as a Ray Serve application on the App's Ray cluster (MODELGATE_RAY_ADDRESS),
    updated in place by a rolling update that keeps the old version serving until the new one runs."""

    kind: Literal["ray-serve"] = Field(description="Deploy as a Ray Serve application named after the model.")
    route_prefix: str | None = Field(
        None, max_length=100,
        description="Where the application answers under the cluster's Serve URL (default: /<model name>, "
        "made URL-safe); a prefix another application serves is refused.",
    )
    num_replicas: int = Field(1, ge=1, le=16, description="How many replicas serve the model.")
    num_cpus: float = Field(1.0, gt=0, le=64, description="CPUs Ray reserves for each replica.")
    memory_mb: int | None = Field(
        None, ge=64, le=1_048_576,
        description="Memory Ray reserves for each replica (default: none reserved).",
    )

    @field_validator("route_prefix")
    @classmethod
    def _route_prefix(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(ROUTE_PREFIX_PATTERN, value):
            raise ValueError("expected a URL path such as /wine or /models/wine: segments of letters, "
                             "digits, '.', '_', '~', '-', each starting with a letter or digit, and no "
                             "trailing '/'")
        return value


DeploySpec = Annotated[NoDeploy | CommandDeploy | ServeDeploy | RayServeDeploy, Field(discriminator="kind")]


class ProductionSection(_Strict):
    """When the production pipeline runs."""

    on_push: bool = Field(
        False, description="Also run it for direct pushes to the default branch that did not come from a PR."
    )
