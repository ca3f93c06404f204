"""Runtime configuration from ``MODELGATE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Need = Literal["webhooks", "github"]


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


class Settings(BaseSettings):
    """Everything an operator can set. Only what a command needs is required (see ``require``)."""

    model_config = SettingsConfigDict(
        env_prefix="MODELGATE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    app_id: int | None = Field(default=None, gt=0)
    private_key: SecretStr | None = None
    private_key_path: Path | None = None
    webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    data_dir: Path = Path(".modelgate")
    database_url: str | None = None
    mlflow_tracking_uri: str | None = None
    public_url: str | None = None
    mlflow_ui_url: str | None = None
    report_retention_days: float = Field(default=30.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    workers: int = Field(default=2, ge=0, le=64)
    processes: int = Field(default=1, ge=1, le=64)
    pipeline_concurrency: int = Field(default=2, ge=1, le=64)
    max_attempts: int = Field(default=3, ge=1, le=20)
    lease_seconds: float = Field(default=60.0, gt=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("github_api_url", "public_url", "mlflow_ui_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{(self.data_dir / 'modelgate.db').resolve()}"
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"
        return self

    @property
    def db_url(self) -> str:
        """The database URL, always set after validation."""
        assert self.database_url is not None  # set by _derive_paths
        return self.database_url

    def app_private_key(self) -> str:
        """The App's PEM private key, from PRIVATE_KEY or the file at PRIVATE_KEY_PATH."""
        if self.private_key is not None:
            # .env files and CI secrets often carry the PEM with literal "\n"
            return self.private_key.get_secret_value().replace("\\n", "\n")
        if self.private_key_path is None:
            raise SettingsError(
                "MODELGATE_PRIVATE_KEY or MODELGATE_PRIVATE_KEY_PATH is required: the App's PEM key"
            )
        try:
            return self.private_key_path.read_text()
        except OSError as exc:
            raise SettingsError(
                f"MODELGATE_PRIVATE_KEY_PATH={self.private_key_path}: cannot read it ({exc.strerror})"
            ) from None

    def secret(self) -> str:
        """The webhook secret (required to accept deliveries)."""
        if self.webhook_secret is None or not self.webhook_secret.get_secret_value():
            raise SettingsError("MODELGATE_WEBHOOK_SECRET is required: the App's webhook secret")
        return self.webhook_secret.get_secret_value()

    def require(self, *needs: Need) -> Settings:
        """Raise SettingsError naming the first missing variable a command needs."""
        if "webhooks" in needs:
            self.secret()
        if "github" in needs:
            if self.app_id is None:
                raise SettingsError("MODELGATE_APP_ID is required: the GitHub App's numeric id")
            key = self.app_private_key()
            try:
                serialization.load_pem_private_key(key.encode(), password=None)
            except (ValueError, TypeError):
                name = "MODELGATE_PRIVATE_KEY" if self.private_key else "MODELGATE_PRIVATE_KEY_PATH"
                raise SettingsError(f"{name}: not a PEM private key") from None
        return self


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment; a bad value raises SettingsError with one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "settings"
        value = err.get("input")
        shown = "" if field in {"private_key", "webhook_secret"} else f"={value!r}"
        raise SettingsError(
            f"MODELGATE_{field.upper()}{shown}: {err['msg']}"
        ) from None
