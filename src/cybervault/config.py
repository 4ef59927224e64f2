"""The one settings object. Every option is an environment variable with the CYBERVAULT_ prefix."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Values that ship in examples and must never protect a production deployment.
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "dev-secret-change-me", "secret", "test"}
DEV_SECRET = "dev-secret-change-me"  # noqa: S105 - the known placeholder that production refuses

NetworkList = Annotated[list[str], NoDecode]


def _split_networks(value: object) -> list[str]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = [str(part).strip() for part in value]
    else:
        raise ValueError("expected a comma-separated list of networks")
    for item in items:
        ipaddress.ip_network(item, strict=False)  # raises ValueError naming the bad entry
    return items


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CYBERVAULT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_base_url: str = "http://127.0.0.1:8000"

    database_url: str = "sqlite+aiosqlite:///./cybervault.db"
    database_pool_size: int = Field(10, ge=1, le=200)
    database_pgbouncer: bool = False  # true when PostgreSQL is reached through PgBouncer in transaction mode
    redis_url: str | None = None
    redis_prefix: str = "cybervault"

    # HMAC key for API-key hashes and the key that encrypts stored channel credentials.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    encryption_key: SecretStr = SecretStr(DEV_SECRET)

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True

    # API platform
    rate_limit_per_minute: int = Field(600, ge=1)
    auth_failure_limit_per_minute: int = Field(30, ge=1)
    rate_limit_fail_open: bool = False
    max_body_bytes: int = Field(1_048_576, ge=1024)
    idempotency_ttl_seconds: int = Field(86_400, ge=60)
    cors_origins: NetworkList = Field(default_factory=list)
    trusted_proxies: NetworkList = Field(default_factory=list)

    # Jobs
    worker_concurrency: int = Field(8, ge=1, le=256)
    job_lease_seconds: int = Field(30, ge=2)
    job_max_attempts: int = Field(5, ge=1)
    reconcile_interval_seconds: float = Field(2.0, gt=0)
    run_jobs_in_process: bool | None = None  # default: in-process when no Redis is configured

    # Vulnerability matching: an in-memory index of the CVE tables per process (see docs/vulnerability-data.md)
    vuln_match_index: bool = True
    # Parser processes for big CVE files (0: one per core, at most four)
    import_parsers: int = Field(0, ge=0, le=16)

    # Scanning
    scan_allowed_networks: NetworkList = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    scan_max_prefix_v4: int = Field(16, ge=0, le=32)
    scan_max_prefix_v6: int = Field(112, ge=0, le=128)
    scan_max_concurrent_per_org: int = Field(3, ge=1)
    scan_daily_quota_per_org: int = Field(500, ge=1)

    # Webhooks and notification channels
    webhook_allowed_networks: NetworkList = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(15.0, gt=0)
    webhook_connect_timeout_seconds: float = Field(5.0, gt=0)
    webhook_retry_scale: float = Field(1.0, gt=0)  # tests compress the retry schedule with e.g. 0.001
    webhook_max_concurrency_per_endpoint: int = Field(4, ge=1)
    event_retention_days: int = Field(30, ge=1)

    # SMTP for email channels without their own server (optional)
    smtp_timeout_seconds: float = Field(10.0, gt=0)

    @field_validator("scan_allowed_networks", "webhook_allowed_networks", "trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> list[str]:
        return _split_networks(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> list[str]:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return list(value)  # type: ignore[arg-type]

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not (value.startswith("redis://") or value.startswith("rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not (value.startswith("http://") or value.startswith("https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.env == "production":
            for name in ("secret_key", "encryption_key"):
                secret = getattr(self, name).get_secret_value()
                if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 32:
                    raise ValueError(
                        f"CYBERVAULT_{name.upper()} is missing or a placeholder; "
                        "production needs a random value of at least 32 characters"
                    )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def jobs_in_process(self) -> bool:
        if self.run_jobs_in_process is not None:
            return self.run_jobs_in_process
        return self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()


def describe_settings_error(exc: Exception) -> str:
    """One clear line naming the bad setting, for start-up failures."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        env_name = f"CYBERVAULT_{field.upper()}" if field != "settings" else "settings"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        if message.startswith("CYBERVAULT_"):
            return f"configuration error: {message}"
        return f"configuration error: {env_name}: {message}"
    return f"configuration error: {exc}"
