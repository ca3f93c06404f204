"""Fixtures that start the GitHub stand-in (``bot.sandbox``) and a webhook receiver, both
on real local ports under uvicorn.

* ``app_keys``: the App's RSA key pair (session).
* ``sandbox``: a running, freshly reset sandbox (``SandboxHandle``); webhooks go nowhere
  until ``sandbox.set_webhook_url(url)``.
* ``webhook_receiver``: a recording receiver (``WebhookReceiver``) that checks signatures.
* ``make_app_jwt(...)``: mint App JWTs (also ``sandbox.app_jwt()``).
* ``running_app(sandbox, data_dir, ...)``: ``modelgate serve`` on a free port, wired to the sandbox;
  ``wait_for_runs(services, select, count)``: its runs once they finished.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import api_jws
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox import SandboxClient, SandboxConfig, create_sandbox_app
from bot.server import Services, build_services, create_app
from bot.serving import free_port, serve
from bot.settings import Settings
from bot.store import TERMINAL, RunRecord
from bot.webhooks.signature import verify

SANDBOX_APP_ID = 4242
SANDBOX_WEBHOOK_SECRET = "sandbox-test-webhook-secret"


@dataclass(frozen=True)
class AppKeys:
    """The App's key pair as PEM text."""

    private_pem: str
    public_pem: str


@pytest.fixture(scope="session")
def app_keys() -> AppKeys:
    """A 2048-bit RSA key pair for the App."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return AppKeys(private, public)


def make_app_jwt(private_pem: str, app_id: int | str, *, iat_offset: int = -60,
                 lifetime: int = 600, iss: Any = None, algorithm: str = "RS256") -> str:
    """An App JWT like githubkit's (iat 60 s back, exp iat + 10 min); tweak to break it.

    ``iss`` defaults to the app id as a string; pass an int to send it as a JSON number."""
    iat = int(time.time()) + iat_offset
    claims = {"iat": iat, "exp": iat + lifetime, "iss": str(app_id) if iss is None else iss}
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return api_jws.encode(payload, private_pem, algorithm=algorithm, headers={"typ": "JWT"})


@dataclass
class SandboxHandle:
    """A running sandbox: its URL, control client and the App's credentials."""

    url: str
    client: SandboxClient
    config: SandboxConfig
    private_key_pem: str
    _http: list[httpx.Client] = field(default_factory=list)

    @property
    def app_id(self) -> int:
        """The App id JWTs must carry as ``iss``."""
        return self.config.app_id

    @property
    def public_key_pem(self) -> str:
        """The key the sandbox verifies JWTs with."""
        return self.config.app_public_key_pem

    @property
    def webhook_secret(self) -> str:
        """The secret webhooks are signed with."""
        return self.config.webhook_secret

    @property
    def installation_id(self) -> int:
        """The one installation."""
        return self.config.installation_id

    @property
    def bot_login(self) -> str:
        """``<slug>[bot]``, the author of everything written over REST."""
        return self.config.bot_login

    def set_webhook_url(self, url: str | None) -> None:
        """Point webhooks at ``url`` (e.g. ``webhook_receiver.url`` or the bot's endpoint)."""
        self.client.set_webhook_url(url)

    def app_jwt(self, **overrides: Any) -> str:
        """A valid App JWT (keyword overrides as in ``make_app_jwt``)."""
        return make_app_jwt(self.private_key_pem, self.app_id, **overrides)

    def installation_token(self) -> str:
        """A fresh installation token, minted over HTTP with the App JWT."""
        response = httpx.post(
            f"{self.url}/app/installations/{self.installation_id}/access_tokens",
            headers={"Authorization": f"Bearer {self.app_jwt()}"}, trust_env=False)
        response.raise_for_status()
        return str(response.json()["token"])

    def rest(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client for the REST API, authenticated as the installation by default."""
        headers = {"Accept": "application/vnd.github+json",
                   "Authorization": f"token {token or self.installation_token()}"}
        client = httpx.Client(base_url=self.url, headers=headers, trust_env=False, **kwargs)
        self._http.append(client)
        return client

    def close(self) -> None:
        """Close the clients handed out by ``rest()``."""
        for client in self._http:
            client.close()
        self._http.clear()


@pytest.fixture(scope="session")
def _sandbox_server(app_keys: AppKeys) -> Iterator[tuple[str, SandboxConfig]]:
    config = SandboxConfig.from_private_key(app_keys.private_pem, app_id=SANDBOX_APP_ID,
                                            webhook_secret=SANDBOX_WEBHOOK_SECRET, port=0)
    with serve(create_sandbox_app(config)) as url:
        yield url, config


@pytest.fixture
def sandbox(_sandbox_server: tuple[str, SandboxConfig], app_keys: AppKeys
            ) -> Iterator[SandboxHandle]:
    """The running sandbox, reset, with webhooks unset (call ``set_webhook_url``)."""
    url, config = _sandbox_server
    client = SandboxClient(url)
    client.reset()
    client.set_webhook_url(None)
    handle = SandboxHandle(url, client, config, app_keys.private_pem)
    yield handle
    handle.close()
    client.close()


@dataclass(frozen=True)
class ReceivedDelivery:
    """One webhook as the receiver got it."""

    event: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    signature_valid: bool

    @property
    def payload(self) -> Any:
        """The parsed JSON body."""
        return json.loads(self.body)

    @property
    def action(self) -> str | None:
        """``payload["action"]`` if any."""
        return self.payload.get("action")


class WebhookReceiver:
    """Records every POST to ``url``; answers ``status_code`` (200 unless a test changes it)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.status_code = 200
        self.deliveries: list[ReceivedDelivery] = []
        self._lock = threading.Lock()
        self.url = ""

    async def handle(self, request: Request) -> JSONResponse:
        """The receiver endpoint."""
        body = await request.body()
        delivery = ReceivedDelivery(
            request.headers.get("x-github-event", ""), dict(request.headers), body,
            verify(self.secret, body, request.headers.get("x-hub-signature-256")))
        with self._lock:
            self.deliveries.append(delivery)
        return JSONResponse({"ok": True}, status_code=self.status_code)

    def events(self) -> list[tuple[str, str | None]]:
        """``(event, action)`` of each delivery, in arrival order."""
        with self._lock:
            return [(d.event, d.action) for d in self.deliveries]

    def wait_for(self, predicate: Callable[[list[ReceivedDelivery]], bool],
                 timeout: float = 5.0) -> list[ReceivedDelivery]:
        """Wait until ``predicate(deliveries)`` holds (for background deliveries)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                snapshot = list(self.deliveries)
            if predicate(snapshot):
                return snapshot
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {[(d.event, d.action) for d in snapshot]}")
            time.sleep(0.02)

    def clear(self) -> None:
        """Forget deliveries and answer 200 again."""
        with self._lock:
            self.deliveries.clear()
        self.status_code = 200


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(SANDBOX_WEBHOOK_SECRET)
    app = Starlette(routes=[Route("/webhook", receiver.handle, methods=["POST"])])
    with serve(app) as url:
        receiver.url = f"{url}/webhook"
        yield receiver


@pytest.fixture
def webhook_receiver(_receiver_server: WebhookReceiver) -> WebhookReceiver:
    """A recording receiver (cleared); verifies signatures with the sandbox's secret."""
    _receiver_server.clear()
    return _receiver_server


@contextlib.contextmanager
def running_app(
    sandbox: SandboxHandle, data_dir: Path, workers: int = 2, **settings: Any
) -> Iterator[Services]:
    """The App (``serve``: intake and ``workers`` run workers) on a free port, with the sandbox's
    keys, sending its webhooks there; yields the App's services."""
    port = free_port()
    config = Settings(
        app_id=sandbox.app_id, private_key=sandbox.private_key_pem, webhook_secret=sandbox.webhook_secret,
        github_api_url=sandbox.url, data_dir=data_dir, workers=workers, public_url=f"http://127.0.0.1:{port}",
        **settings,
    )
    services = build_services(config)
    with serve(create_app(services), port=port) as url:
        sandbox.set_webhook_url(url + "/api/github/webhooks")
        yield services


def wait_for_runs(
    services: Services, select: Callable[[RunRecord], bool], count: int = 1, timeout: float = 120
) -> list[RunRecord]:
    """The App's runs matching ``select``, oldest first, once ``count`` exist and all finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = sorted((r for r in services.runs.list_runs(limit=1000) if select(r)), key=lambda r: r.id)
        if len(runs) >= count and all(r.state in TERMINAL for r in runs):
            return runs
        time.sleep(0.1)
    raise AssertionError(f"{count} matching runs did not finish in {timeout:g} s: {runs}")
