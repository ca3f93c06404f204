"""The `commands:` and `require_approval:` sections of `.modelgate.yml`: who may drive modelgate
from a pull request, and whose code waits for a maintainer. Plain data; the App enforces it."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Permission = Literal["read", "triage", "write", "maintain", "admin"]
CommandName = Literal["retrain", "rollback", "help"]
Approval = Literal["forks", "first_time"]


class CommandRule(BaseModel):
    """Who may run one PR command."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    permission: Permission = Field(
        description="The least repository permission the commenter needs (read < triage < write < "
        "maintain < admin)."
    )


COMMANDS_FIELD: dict[CommandName, CommandRule] = Field(
    default_factory=dict,
    description="Who may run each PR command, e.g. {rollback: {permission: admin}}. Defaults: retrain "
    "write, rollback maintain, help anyone. Read from the default branch, never from the PR.",
)
APPROVAL_FIELD: Approval = Field(
    "forks",
    description="Whose pull requests wait for a /retrain by someone with write permission before "
    "staging runs their code: forks (always), or first_time (forks and first-time contributors).",
)
