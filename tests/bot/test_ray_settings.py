"""MODELGATE_EXECUTOR=ray needs the cluster's address and a storage the nodes also reach (a folder, or an
fsspec URL whose protocol is installed); ray_target() is what the pipeline gets, ray_serve_target() what
deploy kind ray-serve gets (whatever the executor)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from pipelines.ray_jobs import RayTarget
from pipelines.ray_serve.deployer import RayServeTarget


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"executor": "ray", "ray_storage": "{storage}"}, "MODELGATE_RAY_ADDRESS=None: Value error, req"),
        ({"executor": "ray", "ray_address": "http://head:8265"}, "MODELGATE_RAY_STORAGE=None: Value error"),
        ({"executor": "ray", "ray_address": " ", "ray_storage": "{storage}"}, "MODELGATE_RAY_ADDRESS"),
        ({"executor": "ray", "ray_address": "head:8265", "ray_storage": "{storage}"}, "http:// or https://"),
        ({"executor": "ray", "ray_address": "http://head:8265", "ray_storage": "{storage}/nope"},
         "must be an existing directory"),
        ({"executor": "ray", "ray_address": "http://head:8265", "ray_storage": "nosuch://bucket/x"},
         "nosuch:// is not a storage fsspec knows"),
        ({"executor": "ray", "ray_address": "http://head:8265", "ray_storage": "{storage}",
          "ray_environments": "conda"}, "MODELGATE_RAY_ENVIRONMENTS"),
        ({"executor": "kubernetes"}, "MODELGATE_EXECUTOR='kubernetes'"),
    ],
)
def test_a_ray_executor_without_its_settings_stops_at_startup(
    overrides: dict[str, str], message: str, tmp_path: Path
) -> None:
    values = {key: value.format(storage=tmp_path) for key, value in overrides.items()}
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(_env_file=None, **values)


@pytest.mark.parametrize(
    ("overrides", "target"),
    [
        ({}, None),
        ({"executor": "local", "ray_address": "http://head:8265"}, None),
        ({"executor": "ray", "ray_address": "http://head:8265/", "ray_storage": "{storage}"},
         RayTarget("http://head:8265", "{storage}")),
        ({"executor": "ray", "ray_address": "http://head:8265", "ray_storage": "file://{storage}/",
          "ray_environments": "prebuilt"},
         RayTarget("http://head:8265", "{storage}", environments="prebuilt")),
        ({"executor": "ray", "ray_address": "http://head:8265", "ray_storage": "s3://models/modelgate/"},
         RayTarget("http://head:8265", "s3://models/modelgate")),
    ],
)
def test_ray_target(overrides: dict[str, str], target: RayTarget | None, tmp_path: Path) -> None:
    values = {key: value.format(storage=tmp_path) for key, value in overrides.items()}
    settings = load_settings(_env_file=None, **values)
    if target is not None:
        target = replace(target, storage=str(target.storage).format(storage=tmp_path.resolve()))
    assert settings.ray_target() == target


@pytest.mark.parametrize(
    ("overrides", "target"),
    [
        ({"ray_address": "http://head:8265"}, None),  # nowhere to put the served files
        ({"ray_address": "http://head:8265", "ray_storage": "{storage}"},
         RayServeTarget("http://head:8265", "{storage}", "http://head:8000")),  # any executor
        ({"ray_address": "https://[fd00::5]:8265", "ray_storage": "{storage}"},
         RayServeTarget("https://[fd00::5]:8265", "{storage}", "http://[fd00::5]:8000")),
        ({"ray_address": "http://head:8265", "ray_storage": "{storage}", "ray_serve_url": "https://models.example/"},
         RayServeTarget("http://head:8265", "{storage}", "https://models.example")),
    ],
)
def test_ray_serve_target(overrides: dict[str, str], target: RayServeTarget | None, tmp_path: Path) -> None:
    values = {key: value.format(storage=tmp_path) for key, value in overrides.items()}
    settings = load_settings(_env_file=None, **values)
    if target is not None:
        target = replace(target, storage=target.storage.format(storage=tmp_path.resolve()))
    assert settings.ray_serve_target() == target


def test_a_ray_serve_url_must_be_http() -> None:
    with pytest.raises(SettingsError, match="MODELGATE_RAY_SERVE_URL='head:8000': Value error, must start"):
        load_settings(_env_file=None, ray_serve_url="head:8000")
