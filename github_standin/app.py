"""Build and run the sandbox application."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from github_standin import (
    control,
    control_installation,
    rest_apps,
    rest_checks,
    rest_compare,
    rest_deployments,
    rest_issue_edits,
    rest_issues,
    rest_protection,
    rest_repos,
    web_apps,
)
from github_standin.config import SandboxConfig
from github_standin.rest import unknown_route
from github_standin.state import SandboxState

OPERATION_PREFIXES = ("apps/", "checks/", "issues/", "pulls/", "reactions/", "repos/")


def create_sandbox_app(config: SandboxConfig) -> Starlette:
    """A Starlette app that answers like the parts of GitHub an App uses (state in memory)."""
    routes: list[Route] = [*control.ROUTES, *control_installation.ROUTES, *rest_apps.ROUTES,
                           *rest_checks.ROUTES, *rest_deployments.ROUTES, *rest_issues.ROUTES,
                           *rest_repos.ROUTES, *rest_compare.ROUTES, *web_apps.ROUTES,
                           *rest_protection.ROUTES,  # before get-branch ({branch:path} takes /protection)
                           *rest_issue_edits.ROUTES]
    app = Starlette(routes=routes, exception_handlers={404: unknown_route, 405: unknown_route})
    app.state.sandbox = SandboxState(config)
    app.state.operation_ids = frozenset(
        r.name for r in routes if r.name.startswith(OPERATION_PREFIXES))
    return app


def run_sandbox(config: SandboxConfig) -> None:
    """Serve the sandbox on ``config.host:config.port`` with uvicorn until interrupted."""
    uvicorn.run(create_sandbox_app(config), host=config.host, port=config.port,
                log_level="info")
