"""App JWT verification and installation-token checks, as GitHub applies them."""

from __future__ import annotations

import time
from typing import Literal

import jwt
from starlette.requests import Request

from github_standin.apps import StandinApp
from github_standin.errors import bad_credentials, bad_jwt
from github_standin.state import SandboxState

AuthKind = Literal["app", "installation", "none"]
MAX_LIFETIME = 600  # exp at most 10 minutes ahead
CLOCK_SKEW = 60  # iat may be up to a minute in the future (clock drift)


def verify_app_jwt(token: str, public_keys: list[str], app_id: int,
                   now: float | None = None) -> bool:
    """True for an RS256 JWT from the App: right ``iss``, ``iat`` not in the future (60 s
    skew allowed), ``exp`` in the future but at most 10 minutes ahead."""
    now = time.time() if now is None else now
    for key in public_keys:
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"],
                                options={"verify_exp": False, "verify_iat": False,
                                         "require": ["iat", "exp", "iss"]})
        except jwt.PyJWTError:
            continue
        try:
            iat, exp = float(claims["iat"]), float(claims["exp"])
        except (TypeError, ValueError):
            return False
        return (str(claims["iss"]) == str(app_id) and iat <= now + CLOCK_SKEW
                and now < exp <= now + MAX_LIFETIME + 1 and exp > iat)
    return False


def _credentials(request: Request, schemes: tuple[str, ...]) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() in schemes and value.strip() else None


def _jwt_app(state: SandboxState, token: str) -> StandinApp | None:
    """The App a JWT's ``iss`` names, if the JWT is valid for it."""
    try:
        issuer = str(jwt.decode(token, options={"verify_signature": False}).get("iss"))
    except jwt.PyJWTError:
        return None
    for app in state.apps.values():
        if str(app.id) == issuer and verify_app_jwt(token, app.public_keys, app.id):
            return app
    return None


def authenticate(state: SandboxState, request: Request, kind: AuthKind) -> StandinApp | None:
    """The App the request acts as (None for ``kind="none"``); GitHub's 401 without the credentials
    ``kind`` needs."""
    if kind == "app":
        token = _credentials(request, ("bearer",))
        app = None if token is None else _jwt_app(state, token)
        if app is None:
            raise bad_jwt()
        return app
    if kind == "installation":
        token = _credentials(request, ("token", "bearer"))
        app = None if token is None else state.token_app(token)
        if app is None:
            raise bad_credentials()
        return app
    return None
