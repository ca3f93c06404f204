"""Runtime configuration from ``MODELGATE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cryptography.hazmat.primitives import serialization
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from pipelines.job_process import JobPolicy
    from pipelines.ray_jobs import RayTarget
    from pipelines.ray_serve.deployer import RayServeTarget

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
    mlflow_artifacts: str | None = Field(
        default=None,
        description="Where new MLflow experiments keep their artifacts (models, reports): a path or URI "
        "every replica reads. Default: mlartifacts beside a SQLite tracking store, else "
        "DATA_DIR/mlartifacts.",
    )
    public_url: str | None = None
    mlflow_ui_url: str | None = None
    report_retention_days: float = Field(default=30.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    workers: int = Field(default=2, ge=0, le=64)
    processes: int | None = Field(
        default=None, ge=1, le=64,
        description="HTTP intake processes sharing the port; unset: one per usable core (at most 4). With "
        "more than one, a background process runs the run workers and acknowledges queued runs; 1: "
        "everything in one process.",
    )
    pipeline_concurrency: int = Field(default=2, ge=1, le=64)
    warm_processes: bool = Field(
        default=True,
        description="Start the next run's pipeline process and its sandboxed job ahead (imports done), so a "
        "run does not wait for them; false saves their memory (~0.5 GB per process) and CPU while idle.",
    )
    max_attempts: int = Field(default=3, ge=1, le=20)
    lease_seconds: float = Field(default=60.0, gt=1)
    schedule_seconds: float = Field(
        default=30.0, ge=0.1, le=3600,
        description="How often each worker process looks for schedules that are due (a fire is claimed once "
        "across replicas).",
    )
    reconcile_seconds: float = Field(
        default=30.0, ge=0.5, le=3600,
        description="How often each worker compares the recorded deployments with what answers and fixes "
        "the difference; a replica's hold on a deployment lasts three periods.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text (readable lines) or json (one object per line: time, level, logger, message, and "
        "delivery_id, run_id, repository, sha where known; traceback for an exception).",
    )
    isolation: Literal["bwrap", "none"] = Field(
        default="bwrap",
        description="How a repository's code runs: bwrap (bubblewrap namespaces, no network, nothing of "
        "the App) or none (a plain subprocess; development only, every run warns).",
    )
    job_network: Literal["none", "host"] = Field(
        default="none", description="Network for jobs: none, or host (the job can reach what the App can)."
    )
    job_memory_mb: int | None = Field(default=8192, ge=64, description="Address-space limit of a job.")
    env_cache_gb: float = Field(
        default=20.0, gt=0, description="Size cap of the cached environments (least recently used go)."
    )
    env_cache_dir: Path | None = Field(
        default=None, description="Where environments are kept (default: <data dir>/environments)."
    )
    package_index_url: str | None = Field(
        default=None, description="The package index environment builds use (default: uv's, PyPI)."
    )
    max_timeout_seconds: int = Field(
        default=3600, ge=10, description="The longest a job may run, whatever a repository's timeout says."
    )
    http_max_concurrency: int = Field(default=100, ge=1, le=100_000)
    http_max_header_bytes: int = Field(default=16_384, ge=1_024, le=1_048_576)
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=3_600)
    http_read_timeout_seconds: float = Field(default=10.0, gt=0, le=3_600)
    source_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    source_max_entries: int = Field(default=50_000, ge=1)
    serve_host: str = Field(
        default="127.0.0.1", min_length=1,
        description="The address every mlflow-serve stable port listens on (a repository cannot choose it).",
    )
    serve_ports: str = Field(
        default="8100-8199",
        description="The ports mlflow-serve may listen on, FIRST-LAST (or one port). A repository's "
        "deploy.port must be one of them; without deploy.port the App assigns a free one, stable per "
        "(repository, model).",
    )
    shared_models: str = Field(
        default="",
        description="Comma-separated model names that any repository the App is installed on may "
        "promote. Every other model name belongs to the first repository that promotes it.",
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="Where a repository's job runs: local (this host, isolated as MODELGATE_ISOLATION says) "
        "or ray (a Ray cluster's Jobs API; the trusted part stays in the App).",
    )
    ray_address: str | None = Field(
        default=None, validate_default=True,
        description="The Ray cluster's Jobs API, http://HEAD:8265 (required with MODELGATE_EXECUTOR=ray).",
    )
    ray_storage: str | None = Field(
        default=None, validate_default=True,
        description="Where each Ray job's outputs, champion files and answer go (required with "
        "MODELGATE_EXECUTOR=ray): a folder the App and every node mount at this same path, or an fsspec URL "
        "such as s3://bucket/modelgate (the App and the nodes each bring their own credentials and the "
        "protocol's package, e.g. s3fs).",
    )
    ray_environments: Literal["uv", "prebuilt"] = Field(
        default="uv",
        description="How a repository's environment reaches a Ray node: uv (Ray's uv runtime environment "
        "installs its pins on the node) or prebuilt (the App's prebuilt environment: MODELGATE_ENV_CACHE_DIR "
        "is a volume every node mounts read-only at the same path; a writable one is refused).",
    )
    ray_serve_url: str | None = Field(
        default=None,
        description="The Ray Serve HTTP address clients call for deploy kind ray-serve, http://HOST:PORT "
        "(default: the host of MODELGATE_RAY_ADDRESS, port 8000); a model answers at "
        "<this>/<route prefix>/invocations.",
    )
    job_env_dir: Path | None = Field(
        default=None,
        description="A folder of OWNER/REPO.env files (dotenv): the environment of that repository's jobs, "
        "for runs of its own branches, never a fork's pull request (bot/runs/job_secrets.py).",
    )

    @field_validator("github_api_url", "public_url", "mlflow_ui_url", "ray_serve_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("serve_ports")
    @classmethod
    def _port_range(cls, value: str) -> str:
        parse_port_range(value)
        return value.strip()

    @field_validator("ray_address", "ray_storage", "ray_serve_url", mode="before")
    @classmethod
    def _unset_if_blank(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ray_address")
    @classmethod
    def _ray_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("executor") == "ray":
                raise ValueError("required with MODELGATE_EXECUTOR=ray: the cluster's Jobs API, http://HEAD:8265")
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be the Jobs API's http:// or https:// URL, e.g. http://HEAD:8265")
        return value.rstrip("/")

    @field_validator("ray_storage")
    @classmethod
    def _ray_storage(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("executor") == "ray":
                raise ValueError("required with MODELGATE_EXECUTOR=ray: a folder shared with the nodes or "
                                 "an fsspec URL (s3://bucket/prefix)")
            return None
        from pipelines.ray_jobs.target import storage_location

        return storage_location(value.strip())

    @field_validator("job_env_dir", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value  # not "." by accident

    @field_validator("job_env_dir")
    @classmethod
    def _existing_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError("must be an existing directory")
        return None if value is None else value.resolve()

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{(self.data_dir / 'modelgate.db').resolve()}"
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"
        if not self.mlflow_artifacts:
            from pipelines.tracking import default_artifact_root

            beside_store = default_artifact_root(self.mlflow_tracking_uri)
            self.mlflow_artifacts = str(beside_store or (self.data_dir / "mlartifacts").resolve())
        return self

    @property
    def db_url(self) -> str:
        """The database URL, always set after validation."""
        assert self.database_url is not None  # set by _derive_paths
        return self.database_url

    @property
    def artifacts_root(self) -> str:
        """Where new MLflow experiments keep their artifacts, always set after validation."""
        assert self.mlflow_artifacts is not None  # set by _derive_paths
        return self.mlflow_artifacts

    @property
    def serve_port_range(self) -> tuple[int, int]:
        """The first and last port mlflow-serve may listen on."""
        return parse_port_range(self.serve_ports)

    @property
    def shared_model_names(self) -> frozenset[str]:
        """The model names several repositories may promote."""
        return frozenset(name.strip() for name in self.shared_models.split(",") if name.strip())

    def job_policy(self) -> JobPolicy:
        """What jobs may use (the repository's secrets are added per run)."""
        from pipelines.job_process import EnvironmentSettings, JobPolicy
        from pipelines.sandbox import Isolation

        root = self.env_cache_dir or self.data_dir / "environments"
        environments = EnvironmentSettings(root, int(self.env_cache_gb * 1024**3), self.package_index_url)
        return JobPolicy(Isolation(self.isolation), self.job_network == "host", self.job_memory_mb,
                         environments=environments, ray=self.ray_target())

    def ray_target(self) -> RayTarget | None:
        """The Ray cluster jobs go to (MODELGATE_EXECUTOR=ray), or None when they run on this host."""
        if self.executor != "ray":
            return None
        from pipelines.ray_jobs import RayTarget

        assert self.ray_address is not None and self.ray_storage is not None  # required by the validators
        return RayTarget(self.ray_address, self.ray_storage, environments=self.ray_environments)

    def ray_serve_target(self) -> RayServeTarget | None:
        """The Ray cluster that serves ``deploy: {kind: ray-serve}`` models, whatever the executor; None
        without MODELGATE_RAY_ADDRESS and MODELGATE_RAY_STORAGE."""
        if self.ray_address is None or self.ray_storage is None:
            return None
        from urllib.parse import urlsplit

        from pipelines.ray_serve.deployer import RayServeTarget

        host = urlsplit(self.ray_address).hostname or "127.0.0.1"
        serve_url = self.ray_serve_url or f"http://{f'[{host}]' if ':' in host else host}:8000"
        return RayServeTarget(self.ray_address, self.ray_storage, serve_url)

    def secret_paths(self) -> list[Path]:
        """Files a job must never see: the key, the data directory, the .env file, a local MLflow artifact
        store, every repository's job environment files."""
        from pipelines.tracking import local_artifact_root

        paths = [self.data_dir, Path(".env")]
        artifacts = local_artifact_root(self.artifacts_root)  # every repository's models and reports
        if artifacts is not None:
            paths.append(artifacts)
        if self.private_key_path is not None:
            paths.append(self.private_key_path)
        if self.job_env_dir is not None:
            paths.append(self.job_env_dir)
        return paths

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

    def has_app(self) -> bool:
        """The App's id and private key are set (it can call GitHub: acknowledge runs, run workers)."""
        return self.app_id is not None and bool(self.private_key or self.private_key_path)

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


def parse_port_range(value: str) -> tuple[int, int]:
    """``"8100-8199"`` → (8100, 8199), ``"8100"`` → (8100, 8100); ValueError for anything else."""
    first, _, last = value.strip().partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise ValueError("must be a port or a range FIRST-LAST, e.g. 8100-8199") from None
    if not 1 <= low <= high <= 65535:
        raise ValueError("must be ports between 1 and 65535, the first not above the last")
    return low, high


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
