"""The only code that talks to GitHub's REST API (through githubkit)."""

from bot.github.api import InstallationAPI, Repo
from bot.github.app import GitHubApp, RetryPolicy
from bot.github.limits import PermissionCache, SlidingWindowLimiter

__all__ = ["GitHubApp", "InstallationAPI", "PermissionCache", "Repo", "RetryPolicy", "SlidingWindowLimiter"]
