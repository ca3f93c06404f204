"""The only code that talks to GitHub's REST API (through githubkit)."""

from bot.github.api import InstallationAPI, Repo
from bot.github.app import GitHubApp, RetryPolicy

__all__ = ["GitHubApp", "InstallationAPI", "Repo", "RetryPolicy"]
