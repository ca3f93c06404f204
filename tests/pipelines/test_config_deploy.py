"""The `deploy:` and `production:` sections of .modelgate.yml."""

from pathlib import Path

import pytest

import pipelines
from pipelines.config import ConfigError, parse_config

BASE = (Path(pipelines.__file__).parent / "examples" / "wine-classifier" / ".modelgate.yml").read_text()


def test_defaults_are_promotion_only_and_no_pushes() -> None:
    config = parse_config(BASE)
    assert config.deploy.kind == "none" and config.production.on_push is False


def test_each_deployer_parses() -> None:
    serve = parse_config(BASE + "deploy: {kind: mlflow-serve, port: 5005}\nproduction: {on_push: true}\n")
    assert (serve.deploy.kind, serve.deploy.port, serve.deploy.host) == ("mlflow-serve", 5005, None)
    assigned = parse_config(BASE + "deploy: {kind: mlflow-serve}\n")  # the App assigns the port
    assert (assigned.deploy.kind, assigned.deploy.port) == ("mlflow-serve", None)
    assert serve.production.on_push is True
    command = parse_config(BASE + "deploy: {kind: command, command: ./deploy.sh --prod}\n")
    assert (command.deploy.kind, command.deploy.command, command.deploy.timeout_seconds) == (
        "command", "./deploy.sh --prod", 600)
    ray = parse_config(BASE + "deploy: {kind: ray-serve}\n")
    assert (ray.deploy.kind, ray.deploy.route_prefix, ray.deploy.num_replicas, ray.deploy.num_cpus,
            ray.deploy.memory_mb) == ("ray-serve", None, 1, 1.0, None)
    sized = parse_config(BASE + "deploy: {kind: ray-serve, route_prefix: /wine/v2, num_replicas: 3, "
                                "num_cpus: 0.5, memory_mb: 2048}\n")
    assert (sized.deploy.route_prefix, sized.deploy.num_replicas, sized.deploy.memory_mb) == (
        "/wine/v2", 3, 2048)


PATH = "route_prefix: expected a URL path such as /wine"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("deploy: {kind: kubernetes}\n", "deploy: Input tag 'kubernetes' found using 'kind'"),
        ("deploy: {kind: command}\n", "deploy.command.command: required key is missing"),
        ("deploy: {kind: mlflow-serve, port: 99999}\n", "port: Input should be less than or equal to 65535"),
        ("production: {on_pull: true}\n", "production: unknown key 'on_pull' (allowed: on_push)"),
        ("deploy: {kind: ray-serve, route_prefix: wine}\n", PATH),
        ("deploy: {kind: ray-serve, route_prefix: /}\n", PATH),
        ("deploy: {kind: ray-serve, route_prefix: /wine/}\n", PATH),
        ("deploy: {kind: ray-serve, route_prefix: '/-/routes'}\n", PATH),
        ("deploy: {kind: ray-serve, route_prefix: '/{x}'}\n", PATH),
        ("deploy: {kind: ray-serve, num_replicas: 0}\n", "num_replicas: Input should be greater"),
        ("deploy: {kind: ray-serve, num_cpus: 0}\n", "num_cpus: Input should be greater than 0"),
        ("deploy: {kind: ray-serve, memory_mb: 1}\n", "memory_mb: Input should be greater than"),
        ("deploy: {kind: ray-serve, runtime_env: {}}\n", "deploy.ray-serve: unknown key 'runtime_env'"),
    ],
)
def test_bad_sections_name_the_problem(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(BASE + extra)
    assert any(message in m for m in error.value.messages), error.value.messages


def test_the_hash_changes_with_the_deployer() -> None:
    served = parse_config(BASE + "deploy: {kind: mlflow-serve, port: 1}\n")
    assert parse_config(BASE).config_hash() != served.config_hash()
