"""``modelgate setup`` end to end, in a real browser (chromium through Playwright), against the stand-in:
setup's page posts app.yml as a manifest → the stand-in's "Create GitHub App for OWNER" page → the
redirect back with the code → setup converts it, writes the key (0600) and ``.env`` (other lines kept),
prints the next steps and exits 0; the written credentials then work against the stand-in, and ``serve``
with the written ``.env`` receives the new App's webhooks from it. A redirect
with another ``state`` and a code that was already used are refused, and nothing is written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from dotenv import dotenv_values
from playwright.sync_api import Page

from bot.github import GitHubApp, Repo
from bot.server import build_services, create_app
from bot.settings import Settings
from github_standin.serving import serve
from pipelines.serving import free_port
from tests.fixtures.standin import SandboxHandle, make_app_jwt
from tests.fixtures.standin_repos import seed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

OLD_ENV = "# my settings\nOTHER_SETTING=keep-me\nMODELGATE_LOG_LEVEL=DEBUG\nMODELGATE_APP_ID=1\n" \
          "MODELGATE_PRIVATE_KEY='old-inline-key'\n"


@dataclass
class Setup:
    """One ``modelgate setup`` process and its page."""

    process: subprocess.Popen[str]
    url: str

    def wait_ready(self) -> None:
        """Until its page answers (the CLI's imports take seconds on a busy machine)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()
            try:
                if httpx.get(self.url + "/", trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("modelgate setup did not serve its page")

    def stop(self) -> None:
        """Terminate it if it still runs."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_setup(sandbox: SandboxHandle, cwd: Path, name: str,
                public_url: str = "https://modelgate.test") -> Setup:
    """``modelgate setup`` against the stand-in (its web and API side on one base URL)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    command = [sys.executable, "-m", "bot.cli", "setup", "--public-url", public_url,
               "--github-url", sandbox.url, "--api-url", sandbox.url, "--name", name, "--port", str(port),
               "--key-dir", "keys", "--timeout", "60"]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    setup = Setup(process, f"http://127.0.0.1:{port}")
    setup.wait_ready()
    return setup


def test_setup_creates_the_app_in_a_browser_and_writes_working_credentials(
        sandbox: SandboxHandle, tmp_path: Path, browser_page: Page) -> None:
    seed(sandbox)
    env_file = tmp_path / ".env"
    env_file.write_text(OLD_ENV)
    name, serve_port = f"modelgate-{uuid.uuid4().hex[:8]}", free_port()
    public = f"http://127.0.0.1:{serve_port}"  # where `modelgate serve` will listen
    setup = start_setup(sandbox, tmp_path, name, public)
    page = browser_page
    try:
        forged = page.goto(f"{setup.url}/callback?code=whatever&state=forged")
        assert forged is not None and forged.status == 400
        assert "state mismatch" in page.inner_text("body") and env_file.read_text() == OLD_ENV

        page.goto(setup.url + "/")
        assert name in page.inner_text("body") and "administration: write" in page.inner_text("body")
        page.click("text=Create the GitHub App on GitHub")
        page.wait_for_selector("text=Create GitHub App for modelgate-dev")
        assert page.inner_text(".app-name") == name
        page.click("button:has-text('Create GitHub App for modelgate-dev')")
        page.wait_for_selector("text=GitHub App created")
        code = parse_qs(urlsplit(page.url).query)["code"][0]
        out, err = setup.process.communicate(timeout=30)
    finally:
        setup.stop()
    assert setup.process.returncode == 0, err

    written = dotenv_values(env_file)
    app_id = int(written["MODELGATE_APP_ID"] or 0)
    assert app_id not in (0, 1, sandbox.app_id)
    assert f"Created the GitHub App {name} (id {app_id}, owner modelgate-dev)" in out
    assert f"Install the App on your repositories: {sandbox.url}/apps/{name}/installations/new" in out
    assert "Removed MODELGATE_PRIVATE_KEY" in out and "Next steps:" in out
    assert (written["OTHER_SETTING"], written["MODELGATE_LOG_LEVEL"]) == ("keep-me", "DEBUG")
    assert "# my settings" in env_file.read_text() and "MODELGATE_PRIVATE_KEY" not in written
    assert (written["MODELGATE_PUBLIC_URL"], written["MODELGATE_GITHUB_API_URL"]) == (public, sandbox.url)
    key_file = Path(str(written["MODELGATE_PRIVATE_KEY_PATH"]))
    assert key_file == (tmp_path / "keys" / f"{name}-{app_id}.private-key.pem")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and stat.S_IMODE(env_file.stat().st_mode) == 0o600

    # the written credentials are the App's: its JWT, an installation token, a REST call as it
    pem = key_file.read_text()
    me = httpx.get(f"{sandbox.url}/app", headers={"Authorization": f"Bearer {make_app_jwt(pem, app_id)}"},
                   trust_env=False)
    assert me.status_code == 200 and (me.json()["id"], me.json()["name"]) == (app_id, name)
    assert me.json()["permissions"]["administration"] == "write"
    api = GitHubApp(app_id, pem, str(written["MODELGATE_GITHUB_API_URL"])).for_repository("octo/hello", None)
    assert api.get_repository(Repo("octo", "hello"))["full_name"] == "octo/hello"
    secret = written["MODELGATE_WEBHOOK_SECRET"]
    assert secret and secret != sandbox.webhook_secret

    # `modelgate serve` with the written .env receives the new App's webhooks, signed with its secret
    settings = Settings(_env_file=env_file, data_dir=tmp_path / "data", workers=0)
    services = build_services(settings)
    with serve(create_app(services), port=serve_port):
        pushed = sandbox.client.create_repo("octo", "fresh", files={"README.md": "hi\n"})
    [delivery] = [d for d in pushed["deliveries"] if d["app_id"] == app_id]
    assert (delivery["url"], delivery["status"]) == (f"{public}/api/github/webhooks", 202)
    stored = services.deliveries.get(delivery["guid"])
    assert stored is not None and (stored.event, stored.repository, stored.outcome) == (
        "push", "octo/fresh", "accepted")
    assert stored.installation_id not in (None, sandbox.installation_id)  # the new App's own installation

    # a second setup given the used code: GitHub's 404, nothing written
    before = env_file.read_text()
    again = start_setup(sandbox, tmp_path, f"{name}-2")
    try:
        page.goto(again.url + "/")
        state = parse_qs(urlsplit(page.get_attribute("form", "action") or "").query)["state"][0]
        reused = page.goto(f"{again.url}/callback?code={code}&state={state}")
        assert reused is not None and reused.status == 502
        assert "the code was already used or has expired" in page.inner_text("body")
        assert again.process.poll() is None  # still waiting for a good redirect
    finally:
        again.stop()
    assert env_file.read_text() == before and sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        key_file.name]
