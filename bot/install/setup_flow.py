"""``modelgate setup``: create the GitHub App with GitHub's manifest flow, as Probot does.

It serves a local page whose form posts the manifest (app.yml with this installation's URLs) to GitHub
(or GitHub Enterprise Server). The operator confirms there; GitHub redirects the browser back to
``/callback?code=C&state=S``. ``setup`` checks ``state``, converts the code
(``POST /app-manifests/{code}/conversions``), writes the private key to a file of its own (mode 0600) and
``MODELGATE_APP_ID``, ``MODELGATE_PRIVATE_KEY_PATH``, ``MODELGATE_WEBHOOK_SECRET``, ``MODELGATE_PUBLIC_URL``
(the webhook URL is PUBLIC_URL/api/github/webhooks) and ``MODELGATE_GITHUB_API_URL`` to ``.env``, and exits.
A callback with another ``state``, or a code GitHub refuses (used, expired), writes nothing; the page
stays open for another try until ``timeout``.
"""

from __future__ import annotations

import html
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.github.admin import GitHubRefused, convert_manifest
from bot.install.env_file import update_env_file, write_private_key
from bot.install.manifest import build_manifest, form_action, page, start_page


@dataclass(frozen=True)
class SetupOptions:
    """Where things are and go."""

    web_url: str
    api_url: str
    public_url: str
    env_file: Path
    key_dir: Path
    host: str = "127.0.0.1"
    port: int = 3001
    org: str | None = None
    name: str | None = None
    timeout: float = 900.0

    @property
    def local_url(self) -> str:
        """The page the operator opens."""
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class CreatedApp:
    """The App GitHub created and where its secrets went."""

    app: dict[str, Any]
    key_file: Path
    dropped: list[str]


class ManifestFlow:
    """The local page and the callback; ``created`` is set once the App exists and is written down."""

    def __init__(self, options: SetupOptions, template: dict[str, Any]) -> None:
        self.options = options
        self.state = secrets.token_urlsafe(24)
        self.manifest = build_manifest(template, public_url=options.public_url,
                                       redirect_url=f"{options.local_url}/callback", name=options.name)
        self.created: CreatedApp | None = None
        self.done = threading.Event()

    async def start(self, request: Request) -> HTMLResponse:
        """The page with the button that posts the manifest to GitHub."""
        action = form_action(self.options.web_url, self.state, self.options.org)
        return HTMLResponse(start_page(self.manifest, action))

    async def callback(self, request: Request) -> HTMLResponse:
        """GitHub's redirect: check ``state``, convert the code, write the settings."""
        given, code = request.query_params.get("state", ""), request.query_params.get("code", "")
        if self.created is not None:
            return _refusal("The App was already created; nothing more to do.", 409)
        if not secrets.compare_digest(given.encode(), self.state.encode()):
            return _refusal("This redirect does not come from the page modelgate setup served (state "
                            "mismatch). Nothing was written.", 400)
        if not code:
            return _refusal("GitHub's redirect carries no code. Nothing was written.", 400)
        try:
            app = await run_in_threadpool(convert_manifest, self.options.api_url, code)
        except GitHubRefused as refused:
            why = "the code was already used or has expired" if refused.status == 404 else str(refused)
            return _refusal(f"GitHub refused to convert the code: {why}. Nothing was written; start again "
                            f"from {self.options.local_url}/.", 502)
        self.created = await run_in_threadpool(self._write, app)
        self.done.set()
        return HTMLResponse(page("GitHub App created", (
            f"<p>Created <strong>{html.escape(str(app['name']))}</strong> (id {int(app['id'])}); its "
            f"settings are in <code>{html.escape(str(self.options.env_file))}</code>.</p>"
            f"<p>Next, <a href='{html.escape(str(app['html_url']))}/installations/new'>install it</a> on "
            f"your repositories.</p>")))

    def _write(self, app: dict[str, Any]) -> CreatedApp:
        key_file = (self.options.key_dir / f"{app['slug']}-{int(app['id'])}.private-key.pem").resolve()
        write_private_key(key_file, str(app["pem"]))
        values = {"MODELGATE_APP_ID": str(int(app["id"])), "MODELGATE_PRIVATE_KEY_PATH": str(key_file),
                  "MODELGATE_PUBLIC_URL": self.options.public_url,
                  "MODELGATE_GITHUB_API_URL": self.options.api_url}
        if app.get("webhook_secret"):
            values["MODELGATE_WEBHOOK_SECRET"] = str(app["webhook_secret"])
        dropped = update_env_file(self.options.env_file, values, remove=["MODELGATE_PRIVATE_KEY"])
        return CreatedApp(app, key_file, dropped)

    def asgi(self) -> Starlette:
        """The local web app."""
        return Starlette(routes=[Route("/", self.start), Route("/callback", self.callback)])


def _refusal(message: str, status: int) -> HTMLResponse:
    return HTMLResponse(page("modelgate setup", f"<p class='error'>{html.escape(message)}</p>"), status)


def run_setup(options: SetupOptions, template: dict[str, Any]) -> CreatedApp | None:
    """Serve the flow until the App is created (its record) or ``options.timeout`` passes (None)."""
    flow = ManifestFlow(options, template)
    server = uvicorn.Server(uvicorn.Config(flow.asgi(), host=options.host, port=options.port,
                                           log_level="warning", lifespan="off"))

    def stop_when_done() -> None:
        flow.done.wait(options.timeout)
        server.should_exit = True

    threading.Thread(target=stop_when_done, name="setup-timeout", daemon=True).start()
    server.run()
    return flow.created
