"""The console script: configuration errors are one clear line, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import pipelines
from bot.cli import main
from bot.settings import SettingsError, load_settings
from tests.fixtures.standin import AppKeys

EXAMPLE = Path(pipelines.__file__).parent / "examples" / "wine-classifier"


def _modelgate(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=clean | env, cwd=cwd,
        capture_output=True, text=True, timeout=60,
    )


# (environment, what the one line of the refusal names)
BAD_SETTINGS = [
    ({}, "MODELGATE_WEBHOOK_SECRET"),
    ({"MODELGATE_WEBHOOK_SECRET": "s", "MODELGATE_PORT": "http"}, "MODELGATE_PORT='http'"),
    ({"MODELGATE_WEBHOOK_SECRET": "s", "MODELGATE_APP_ID": "abc"}, "MODELGATE_APP_ID='abc'"),
    ({"MODELGATE_WEBHOOK_SECRET": "s"}, "MODELGATE_APP_ID is required"),
    ({"MODELGATE_WEBHOOK_SECRET": "s", "MODELGATE_APP_ID": "5"}, "MODELGATE_PRIVATE_KEY"),
    (
        {"MODELGATE_WEBHOOK_SECRET": "s", "MODELGATE_APP_ID": "5",
         "MODELGATE_PRIVATE_KEY_PATH": "/nope.pem"},
        "MODELGATE_PRIVATE_KEY_PATH=/nope.pem: cannot read it",
    ),
    (
        {"MODELGATE_WEBHOOK_SECRET": "s", "MODELGATE_APP_ID": "5",
         "MODELGATE_PRIVATE_KEY": "garbage"},
        "MODELGATE_PRIVATE_KEY: not a PEM private key",
    ),
    ({"MODELGATE_GITHUB_API_URL": "api.github.com"}, "MODELGATE_GITHUB_API_URL='api.github.com'"),
]


@pytest.mark.e2e  # eight `modelgate serve` processes, ~2.5 s each; test_main_refuses_... is the fast copy
@pytest.mark.parametrize(("env", "names"), BAD_SETTINGS)
def test_serve_refuses_bad_settings_with_one_line(
    env: dict[str, str], names: str, tmp_path: Path
) -> None:
    result = _modelgate("serve", env=env | {"MODELGATE_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("modelgate: configuration error: ") and names in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("env", "names"), BAD_SETTINGS)
def test_main_refuses_bad_settings_with_one_line(
    env: dict[str, str], names: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The refusals above, through ``main`` in this process."""
    for name in [k for k in os.environ if k.startswith("MODELGATE_")]:
        monkeypatch.delenv(name)
    for name, value in (env | {"MODELGATE_DATA_DIR": str(tmp_path)}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env of the working tree
    assert main(["serve"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("modelgate: configuration error: ") and names in lines[0]


def test_secrets_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELGATE_WEBHOOK_SECRET", "x" * 10)
    monkeypatch.setenv("MODELGATE_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\\nabc")
    monkeypatch.setenv("MODELGATE_APP_ID", "7")
    settings = load_settings()
    assert settings.app_private_key() == "-----BEGIN RSA PRIVATE KEY-----\nabc"  # "\n" escapes
    assert "xxxxxxxxxx" not in repr(settings)
    with pytest.raises(SettingsError, match="not a PEM private key"):
        settings.require("github")


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "MODELGATE_APP_ID=42\nMODELGATE_GITHUB_API_URL=https://ghe.example.com/api/v3/\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.app_id == 42
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.db_url == f"sqlite:///{tmp_path / '.modelgate' / 'modelgate.db'}"


@pytest.mark.e2e  # a `modelgate migrate` process (~2 s); test_main_migrates_the_database is the fast copy
def test_migrate_creates_the_database(tmp_path: Path) -> None:
    result = _modelgate("migrate", env={"MODELGATE_DATA_DIR": str(tmp_path / "d")}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "d" / "modelgate.db").exists()
    assert "up to date" in result.stdout

def test_main_migrates_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``migrate`` above, through ``main`` in this process."""
    for name in [k for k in os.environ if k.startswith("MODELGATE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MODELGATE_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 0
    assert (tmp_path / "d" / "modelgate.db").exists()
    assert "up to date" in capsys.readouterr().out


def test_schema_prints_the_config_json_schema(tmp_path: Path) -> None:
    result = _modelgate("schema", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert {"model", "data", "metrics", "gates"} <= set(schema["properties"])


@pytest.mark.e2e  # trains the example model through MLflow
def test_run_staging_on_a_checkout_prints_json_and_exits_by_verdict(tmp_path: Path) -> None:
    checkout = tmp_path / "repo"
    shutil.copytree(EXAMPLE, checkout)
    env = {"MODELGATE_DATA_DIR": str(tmp_path / "data")}
    passed = _modelgate("run", "staging", str(checkout), "--json", env=env, cwd=tmp_path)
    assert passed.returncode == 0, passed.stderr
    out = json.loads(passed.stdout.strip().splitlines()[-1])
    assert list(out)[:4] == ["status", "metrics", "gates", "mlflow_run_id"]
    assert out["status"] == "passed" and out["metrics"]["champion"] is None
    assert {"metric", "rule", "threshold", "candidate", "champion", "passed"} <= set(out["gates"][0])
    (checkout / ".modelgate.yml").write_text("model: [not, a, mapping]\n")
    broken = _modelgate("run", "staging", str(checkout), "--json", env=env, cwd=tmp_path)
    assert broken.returncode == 2
    assert json.loads(broken.stdout.strip().splitlines()[-1])["status"] == "error"


@pytest.mark.e2e  # `modelgate sandbox` as its own server process
def test_sandbox_command_serves_the_stand_in(tmp_path: Path, app_keys: AppKeys) -> None:
    """``modelgate sandbox`` as its own process: the control API and the REST API answer."""
    from github_standin.client import SandboxClient
    from pipelines.serving import free_port

    key = tmp_path / "app.pem"
    key.write_text(app_keys.private_pem)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--port", str(port), "--app-id", "9",
         "--app-private-key", str(key)], env=clean, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        with SandboxClient(url) as client:
            client.create_repo("acme", "wine", files={"README.md": "# wine\n"})
            assert [r["full_name"] for r in client.state()["repos"]] == ["acme/wine"]
        assert httpx.get(f"{url}/repos/acme/wine/pulls/1").status_code == 401  # REST wants a token
    finally:
        process.terminate()
        process.wait(timeout=10)
