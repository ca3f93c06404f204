"""The `commands:` and `require_approval:` sections of `.modelgate.yml`."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipelines
from pipelines.config import ConfigError, parse_config

BASE = (Path(pipelines.__file__).parent / "examples" / "wine-classifier" / ".modelgate.yml").read_text()


def test_defaults_leave_the_commands_own_rules_and_gate_forks() -> None:
    config = parse_config(BASE)
    assert config.commands == {} and config.require_approval == "forks"


def test_rules_per_command_and_first_time_approval() -> None:
    rules = "commands: {rollback: {permission: admin}, retrain: {permission: maintain}}\n"
    config = parse_config(BASE + rules + "require_approval: first_time\n")
    assert {name: rule.permission for name, rule in config.commands.items()} == {
        "rollback": "admin", "retrain": "maintain"}
    assert config.require_approval == "first_time"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("commands: {deploy: {permission: write}}", "commands.deploy.[key]: Input should be 'retrain', "
                                                    "'rollback' or 'help' (got 'deploy')"),
        ("commands: {retrain: {permission: owner}}",
         "commands.retrain.permission: Input should be 'read', 'triage', 'write', 'maintain' or 'admin' "
         "(got 'owner')"),
        ("commands: {retrain: {role: write}}", "commands.retrain.permission: required"),
        ("require_approval: everyone", "require_approval: Input should be 'forks' or 'first_time'"),
    ],
)
def test_bad_rules_name_the_problem(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(BASE + extra + "\n")
    assert any(message in line for line in error.value.messages), error.value.messages
