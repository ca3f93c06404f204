"""The `environment:` section of .modelgate.yml."""

from pathlib import Path

import jsonschema
import pytest
import yaml

import pipelines
from pipelines.config import ConfigError, config_json_schema, parse_config

BASE = (Path(pipelines.__file__).parent / "examples" / "wine-classifier" / ".modelgate.yml").read_text()


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("{requirements: ml/requirements.txt}", ("ml/requirements.txt", None, None, None)),
        ("{pyproject: true, python: '3.11'}", (None, True, None, "3.11")),
        ("{packages: [lightgbm==4.7.0], python: '3.12.1'}", (None, None, ["lightgbm==4.7.0"], "3.12.1")),
    ],
)
def test_good_sections(section: str, expected: tuple[object, ...]) -> None:
    config = parse_config(f"{BASE}environment: {section}\n")
    env = config.environment
    assert env is not None and (env.requirements, env.pyproject, env.packages, env.python) == expected
    schema = jsonschema.Draft202012Validator(config_json_schema())
    schema.validate(yaml.safe_load(f"{BASE}environment: {section}"))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{}", "environment: set exactly one of requirements, pyproject, packages (got none)"),
        ("{pyproject: true, packages: [six]}",
         "environment: set exactly one of requirements, pyproject, packages (got pyproject and packages)"),
        ("{requirements: ../secrets.txt}",
         "environment.requirements: must stay inside the repository (no '..' and no backslashes) "
         "(got '../secrets.txt')"),
        ("{requirements: /etc/passwd}",
         "environment.requirements: must be a path relative to the repository root (got '/etc/passwd')"),
        ("{requirements: 'ml\\\\..\\\\x'}", "environment.requirements: must stay inside the repository"),
        ("{pyproject: false}", "environment.pyproject: Input should be True (got False)"),
        ("{packages: []}", "environment.packages: List should have at least 1 item"),
        ("{packages: [six], python: 3.10}",
         'environment.python: quote the version ("3.1"): YAML reads an unquoted 3.10 as the number 3.1'),
        ("{packages: [six], python: '2.7'}",
         'environment.python: expected a Python 3 version such as "3.11" or "3.11.7" (got \'2.7\')'),
        ("{packages: [six], index: x}",
         "environment: unknown key 'index' (allowed: requirements, pyproject, packages, python)"),
    ],
)
def test_bad_sections_name_the_problem(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(f"{BASE}environment: {section}\n")
    assert any(message in m for m in error.value.messages), error.value.messages


@pytest.mark.parametrize(
    "section",
    ["{}", "{pyproject: true, packages: [six]}", "{pyproject: false}", "{packages: [six], python: '2'}"],
)
def test_the_schema_refuses_bad_sections(section: str) -> None:
    validator = jsonschema.Draft202012Validator(config_json_schema())
    assert not validator.is_valid(yaml.safe_load(f"{BASE}environment: {section}"))


def test_the_hash_covers_the_environment() -> None:
    hashes = {parse_config(BASE + extra).config_hash() for extra in (
        "", "environment: {packages: [six]}\n", "environment: {packages: [six], python: '3.11'}\n")}
    assert len(hashes) == 3
