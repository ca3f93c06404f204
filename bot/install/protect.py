"""``modelgate protect OWNER/REPO [--branch B]``: make branch protection require ``modelgate/staging``
from this App, keeping every rule the branch already has, and say what changed.

It acts as the App (``MODELGATE_APP_ID`` and its key), through the App's installation on the repository,
which needs the ``administration: write`` permission (app.yml asks for it).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.feedback.names import STATUS_CONTEXT
from bot.github import GitHubApp, Repo
from bot.github.admin import GitHubRefused, current_protection, replace_protection, repository_api
from bot.install.protection import Decision, kept_rules, require_check
from bot.settings import Settings

CONTEXT = STATUS_CONTEXT["staging"]
MISSING_PERMISSION = (
    "the App's installation may not change branch protection: it needs the `administration: write` "
    "permission. app.yml asks for it; for an App created before, add it under the App's settings → "
    "Permissions (the owner then accepts it on the installation), or require {context} by hand in the "
    "repository's Settings → Branches.")


def protect(settings: Settings, full_name: str, branch: str | None,
            say: Callable[[str], None] = print) -> int:
    """Require ``modelgate/staging`` on ``branch`` (default: the repository's default branch) of
    ``full_name``; 0 when it is required now (changed or not), 1 when GitHub refused."""
    settings.require("github")
    assert settings.app_id is not None  # required above
    app = GitHubApp(settings.app_id, settings.app_private_key(), settings.github_api_url)
    repo = Repo.parse(full_name)
    try:
        api = repository_api(app, repo)
        branch = branch or str(api.get_repository(repo)["default_branch"])
        decision = require_check(current_protection(api, repo, branch), CONTEXT, settings.app_id)
        if decision.body is not None:
            replace_protection(api, repo, branch, decision.body)
    except GitHubRefused as refused:
        say(f"modelgate protect: {repo}: {explain(refused, settings.app_id)}")
        return 1
    for line in report(decision, f"{repo}@{branch}", settings.app_id):
        say(line)
    return 0


def report(decision: Decision, where: str, app_id: int) -> list[str]:
    """What ``protect`` prints: what changed (or that nothing did) and the rules it kept."""
    source = f"from App {app_id}"
    if decision.change == "unchanged":
        lines = [f"{where}: {CONTEXT} is already required {source}; nothing changed"]
    elif decision.change == "added":
        lines = [f"{where}: now requires {CONTEXT} {source} before merging"]
    else:
        before = "any source" if decision.previous_app_id is None else f"App {decision.previous_app_id}"
        lines = [f"{where}: {CONTEXT} was required from {before}; now it must come {source}"]
    if decision.body is not None:
        kept = kept_rules(decision.body, CONTEXT)
        lines.append("kept: " + ("; ".join(kept) if kept else "no other rules"))
    return lines


def explain(refused: GitHubRefused, app_id: int) -> str:
    """GitHub's refusal in the operator's terms."""
    if refused.status == 403 and "not accessible by integration" in refused.message:
        return MISSING_PERMISSION.format(context=CONTEXT)
    if refused.status == 401:
        return f"GitHub refused the App's credentials (MODELGATE_APP_ID={app_id} and its private key): " \
               f"{refused.message}"
    if refused.status == 404 and refused.message == "Branch not found":
        return "no such branch"
    if refused.status == 404:
        return f"not found: the App (id {app_id}) is not installed on it, or it does not exist"
    return f"GitHub answered {refused}"
