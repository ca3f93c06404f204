"""How we talk to GitHub: the only code that calls GitHub's REST API (through githubkit). ``app``
mints tokens and retries; ``api`` is one installation's client; ``clients`` declares the narrow
views (Protocols) that handlers depend on; ``limits`` keeps us under GitHub's content limits."""

from bot.github.api import InstallationAPI, Repo
from bot.github.app import GitHubApp, RetryPolicy
from bot.github.limits import PermissionCache, SlidingWindowLimiter

__all__ = ["GitHubApp", "InstallationAPI", "PermissionCache", "Repo", "RetryPolicy", "SlidingWindowLimiter"]
