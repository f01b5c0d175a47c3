"""Cloud settings from ``FRUGAL_CLOUD_*`` environment variables (and ``FRUGAL_DATABASE_URL``).

The embedded default needs nothing installed or configured: SQLite in a data directory and a random
admin secret written next to it. Production mode refuses to start without an explicit secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from frugalstack.edge.settings import default_home
from frugalstack.shared.errors import ConfigError

MIN_SECRET_CHARS = 32


class CloudSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRUGAL_CLOUD_", extra="ignore", populate_by_name=True)

    mode: Literal["dev", "production"] = Field("dev", description="production refuses to start without a secret")
    data_dir: Path = Field(default_factory=lambda: default_home() / "cloud", description="SQLite, artifacts, keys")
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("FRUGAL_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; default sqlite:///<data_dir>/cloud.db",
    )
    admin_secret: str | None = Field(None, description="bootstrap admin key (Bearer); required in production")
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = Field(1 << 20, ge=1, description="JSON bodies larger than this get 413")
    max_upload_bytes: int = Field(4 << 30, ge=1, description="dataset/artifact uploads larger than this get 413")
    rate_limit_per_minute: int = Field(600, ge=1, description="requests per minute per API key (or client IP)")
    rate_limit_burst: int = Field(120, ge=1, description="token-bucket size of the per-key limit")
    rate_limit_store: Literal["auto", "memory", "database"] = Field(
        "auto", description="where buckets live; auto: the database on PostgreSQL (shared by workers), else memory"
    )
    cors_origins: list[str] = Field(default_factory=list, description="empty: CORS off")
    manifest_ttl_s: int = Field(24 * 3600, ge=60, description="how long a signed manifest stays valid")
    drift_psi_threshold: float = Field(0.2, gt=0, description="PSI above this raises a drift alert")
    gateway_upstream_url: str | None = Field(None, description="OpenAI-compatible base URL; unset: local model")
    gateway_upstream_key: str | None = None
    gateway_model: str = Field("smollm2-135m-instruct-q4_1", description="local model id (edge catalogue)")
    gateway_profile: str = Field("cloud-cpu-vm", description="device profile the local gateway model runs with")
    gateway_threads: int | None = Field(None, ge=1, le=256, description="override the profile's thread count")
    gateway_price_in_per_mtok: float = Field(0.05, ge=0, description="USD per million input tokens")
    gateway_price_out_per_mtok: float = Field(0.20, ge=0, description="USD per million output tokens")
    gateway_timeout_s: float = Field(120.0, gt=0)

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'cloud.db'}"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "signing_key.pem"

    def resolve_admin_secret(self) -> str:
        """The admin secret; in dev mode one is generated once and kept in ``data_dir/admin.key``."""
        if self.admin_secret:
            if len(self.admin_secret) < MIN_SECRET_CHARS:
                raise ConfigError(f"FRUGAL_CLOUD_ADMIN_SECRET must have at least {MIN_SECRET_CHARS} characters")
            return self.admin_secret
        if self.mode == "production":
            raise ConfigError(
                "production mode needs an admin secret; there is no default",
                hint="set FRUGAL_CLOUD_ADMIN_SECRET to a random string of 32+ characters",
            )
        import secrets

        path = self.data_dir / "admin.key"
        if path.is_file():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = "fsk_admin_" + secrets.token_urlsafe(32)
        path.write_text(secret + "\n")
        path.chmod(0o600)
        return secret
