"""Reading a repository's ``.modelgate.yml``: at the commit a run works on, and on the default
branch, where the rules a pull request must not change come from."""

from __future__ import annotations

from bot.feedback.messages import config_report
from bot.github import Repo
from bot.github.clients import ConfigReader
from bot.runs.outcome import Stop
from bot.store import RunState
from pipelines.config import CONFIG_FILE, ConfigError, ModelgateConfig, parse_config

DEFAULT_APPROVAL: str = ModelgateConfig.model_fields["require_approval"].default


def read_config(api: ConfigReader, repo: Repo, sha: str) -> ModelgateConfig:
    """``.modelgate.yml`` at ``sha``; Stop(FAILED) with every message when missing or invalid."""
    raw = api.get_file(repo, CONFIG_FILE, sha)
    try:
        if raw is None:
            raise ConfigError([f"{CONFIG_FILE}: not found at the repository root"])
        return parse_config(raw.decode("utf-8", errors="replace"))
    except ConfigError as exc:
        raise Stop(RunState.FAILED, "invalid .modelgate.yml", config_report(exc.messages)) from None


def rules_config(api: ConfigReader, repo: Repo, default_branch: str | None) -> ModelgateConfig | None:
    """``.modelgate.yml`` on the default branch, where the rules a PR must not change (who may run
    commands, whose code waits for approval) come from; None when missing or invalid there."""
    config = default_branch_config(api, repo, default_branch)
    return config if isinstance(config, ModelgateConfig) else None


def default_branch_config(api: ConfigReader, repo: Repo, branch: str | None) -> ModelgateConfig | str:
    """``.modelgate.yml`` on the default branch ``branch``, or why there is none to use: missing (or no
    default branch), or invalid (every problem, on one line)."""
    if not branch:
        return "no default branch"
    raw = api.get_file(repo, CONFIG_FILE, branch)
    if raw is None:
        return f"no {CONFIG_FILE} on its default branch {branch}"
    try:
        return parse_config(raw.decode("utf-8", errors="replace"))
    except ConfigError as exc:
        return f"invalid {CONFIG_FILE} on its default branch {branch}: {'; '.join(exc.messages)}"


def approval_rule(rules: ModelgateConfig | None) -> str:
    """Whose code waits for a maintainer (``require_approval``), from the default branch's
    configuration (``rules_config``); the default when it is missing or invalid there."""
    return rules.require_approval if rules is not None else DEFAULT_APPROVAL
