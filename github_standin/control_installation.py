"""The control API's installation actions: an administrator installs the App, adds repositories to its
installation or removes them, suspends or unsuspends it, or uninstalls it; each sends the webhook GitHub
sends (``installation`` or ``installation_repositories``). The stand-in's one installation covers every
repository whatever these say: they only send the events."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from github_standin.control import Result, control_route, get_field
from github_standin.rest import Ctx
from github_standin.webhooks import installation_event, installation_repositories_event

ADMIN = "octo"


def _sender(body: dict[str, Any]) -> str:
    return str(get_field(body, "author", default=ADMIN))


def _keys(ctx: Ctx, body: dict[str, Any]) -> list[str]:
    """The repositories ``body`` names (``"repositories": ["owner/name"]``, 404 for an unknown one); when it
    names none, every repository the installation reaches (all but forks, as listed by
    ``GET /installation/repositories``)."""
    names = get_field(body, "repositories", list, None)
    if names is None:
        return sorted(key for key, repo in ctx.state.repos.items() if repo.fork_of is None)
    return [ctx.state.repo(*str(name).split("/", 1)).key for name in names]


def install(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"repositories"?, "author"?}``: the App is installed → ``installation.created`` listing them."""
    event = installation_event(ctx.view, "created", _keys(ctx, body), _sender(body))
    return 201, {}, [event]


def uninstall(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"author"}``: the App is uninstalled → ``installation.deleted`` (its repositories listed)."""
    event = installation_event(ctx.view, "deleted", _keys(ctx, {}), _sender(body))
    return 200, {}, [event]


def suspend(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"author"}``: the installation is suspended → ``installation.suspend`` (no repositories listed,
    as GitHub sends it)."""
    return 200, {}, [installation_event(ctx.view, "suspend", None, _sender(body))]


def unsuspend(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"author"}``: the installation is unsuspended → ``installation.unsuspend`` (no repositories)."""
    return 200, {}, [installation_event(ctx.view, "unsuspend", None, _sender(body))]


def add_repositories(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"repositories": ["owner/name"], "author"}``: repositories added to the installation →
    ``installation_repositories.added``."""
    keys = _keys(ctx, {"repositories": get_field(body, "repositories", list)})
    event = installation_repositories_event(ctx.view, "added", keys, _sender(body))
    return 200, {}, [event]


def remove_repositories(request: Request, ctx: Ctx, body: dict[str, Any]) -> Result:
    """``{"repositories": ["owner/name"], "author"}``: repositories taken out of the installation →
    ``installation_repositories.removed``."""
    keys = _keys(ctx, {"repositories": get_field(body, "repositories", list)})
    event = installation_repositories_event(ctx.view, "removed", keys, _sender(body))
    return 200, {}, [event]


ROUTES: list[Route] = [
    control_route("/installation", ["POST"], install, sends=True),
    control_route("/installation", ["DELETE"], uninstall, sends=True),
    control_route("/installation/suspend", ["POST"], suspend, sends=True),
    control_route("/installation/unsuspend", ["POST"], unsuspend, sends=True),
    control_route("/installation/repositories/add", ["POST"], add_repositories, sends=True),
    control_route("/installation/repositories/remove", ["POST"], remove_repositories, sends=True),
]
