"""App JWT and installation-token checks."""

from __future__ import annotations

import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from github_standin.auth import verify_app_jwt
from tests.fixtures.standin import AppKeys, SandboxHandle, make_app_jwt
from tests.fixtures.standin_repos import REPO, seed

JWT_ERROR = "A JSON web token could not be decoded"


def _token_call(sandbox: SandboxHandle, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return httpx.post(f"{sandbox.url}/app/installations/{sandbox.installation_id}/access_tokens",
                      headers=headers, trust_env=False)


def _other_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("overrides", [
    {},  # githubkit's shape: iat 60 s back, exp 9 min ahead, iss a string
    {"iss": 4242},  # iss as a JSON number
    {"iat_offset": 0, "lifetime": 600},  # exp exactly 10 min ahead
    {"iat_offset": 50, "lifetime": 540},  # a clock 50 s fast
])
def test_valid_jwts_get_a_token(sandbox: SandboxHandle, overrides: dict) -> None:
    response = _token_call(sandbox, f"Bearer {sandbox.app_jwt(**overrides)}")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"].startswith("ghs_")
    expires = time.mktime(time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 3500 < expires - time.time() <= 3601


def test_bad_jwts_are_rejected(sandbox: SandboxHandle, app_keys: AppKeys) -> None:
    pem, app_id = app_keys.private_pem, sandbox.app_id
    bad = {
        "missing": None,
        "not a jwt": "Bearer not-a-jwt",
        "token scheme": f"token {sandbox.app_jwt()}",
        "other key": f"Bearer {make_app_jwt(_other_key(), app_id)}",
        "wrong iss": f"Bearer {make_app_jwt(pem, app_id + 1)}",
        "expired": f"Bearer {make_app_jwt(pem, app_id, iat_offset=-700)}",
        "exp too far": f"Bearer {make_app_jwt(pem, app_id, iat_offset=0, lifetime=660)}",
        "iat in future": f"Bearer {make_app_jwt(pem, app_id, iat_offset=120, lifetime=300)}",
        "hs256": "Bearer " + make_app_jwt("x" * 32, app_id, algorithm="HS256"),
        "installation token": f"Bearer {sandbox.installation_token()}",
    }
    for name, header in bad.items():
        response = _token_call(sandbox, header)
        assert response.status_code == 401, name
        assert response.json()["message"] == JWT_ERROR, name
    repo_installation = httpx.get(f"{sandbox.url}{REPO}/installation", trust_env=False)
    assert repo_installation.status_code == 401


def test_repo_endpoints_need_an_installation_token(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    token = sandbox.installation_token()
    url = f"{sandbox.url}{REPO}/pulls/1"
    for header in (None, "token ghs_unknown", f"Bearer {sandbox.app_jwt()}", f"Basic {token}"):
        response = httpx.get(url, headers={"Authorization": header} if header else {},
                             trust_env=False)
        assert response.status_code == 401, header
        assert response.json()["message"] == "Bad credentials"
    for scheme in ("token", "Bearer"):
        ok = httpx.get(url, headers={"Authorization": f"{scheme} {token}"}, trust_env=False)
        assert ok.status_code == 200


def test_tokens_survive_reset(sandbox: SandboxHandle) -> None:
    seed(sandbox)
    rest = sandbox.rest()
    sandbox.client.reset()
    seed(sandbox)
    assert rest.get(f"{REPO}/pulls/1").status_code == 200


def test_verify_app_jwt_unit(app_keys: AppKeys) -> None:
    now = time.time()
    token = make_app_jwt(app_keys.private_pem, 7)
    assert verify_app_jwt(token, [app_keys.public_pem], 7, now)
    assert not verify_app_jwt(token, [app_keys.public_pem], 8, now)
    assert not verify_app_jwt(token, [app_keys.public_pem], 7, now + 600)  # expired by then
    assert verify_app_jwt(token, ["not a key", app_keys.public_pem], 7, now)
