"""Runtime configuration read from the environment (DESIGN.md, "Configuration")."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_CHARS = 32
# Placeholders seen in example files; a key equal to one of them is no secret.
WEAK_SECRETS = frozenset(
    {"change-me-in-production", "changeme", "change-me", "secret", "test-secret", "duban"}
)
LOCAL_BASE_URL = "http://127.0.0.1:8000"


class Settings(BaseSettings):
    """Every setting of duban; built once per process and passed into factories."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default=Path("var"), validation_alias=AliasChoices("DUBAN_DATA_DIR", "data_dir")
    )
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "temporal_address")
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "temporal_namespace")
    )
    task_queue: str = Field(
        default="duban", validation_alias=AliasChoices("DUBAN_TASK_QUEUE", "task_queue")
    )
    admin_password: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_ADMIN_PASSWORD", "admin_password")
    )
    escalation_offsets: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DUBAN_ESCALATION_OFFSETS", "escalation_offsets"),
    )
    reminder_offsets: str = Field(
        default="P7D,P1D",
        validation_alias=AliasChoices("DUBAN_REMINDER_OFFSETS", "reminder_offsets"),
    )
    smtp_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SMTP_URL", "smtp_url")
    )
    mail_from: str = Field(
        default="duban@localhost", validation_alias=AliasChoices("DUBAN_MAIL_FROM", "mail_from")
    )
    secret_key: str = Field(
        default_factory=lambda: secrets.token_urlsafe(32),
        validation_alias=AliasChoices("DUBAN_SECRET_KEY", "secret_key"),
    )
    max_upload_bytes: int = Field(
        default=100 * 1024 * 1024,
        validation_alias=AliasChoices("DUBAN_MAX_UPLOAD_BYTES", "max_upload_bytes"),
    )
    # The office named in the header of the formal papers (督办通知单, 催办通知单, 办结报告).
    office_name: str = Field(
        default="督查室",
        max_length=60,
        validation_alias=AliasChoices("DUBAN_OFFICE_NAME", "office_name"),
    )
    # Where people reach the app, for links in mail and calendar feeds. Unset: a feed links to
    # the address it was fetched from; mail (sent without a request) to the local default.
    base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_BASE_URL", "base_url")
    )
    # Each request holds at most one connection, and none while it waits on Temporal, hashes a
    # password or stores a file; 10 + 20 covers the 40 request threads of a web process.
    db_pool_size: int = Field(
        default=10, ge=1, validation_alias=AliasChoices("DUBAN_DB_POOL_SIZE", "db_pool_size")
    )
    db_max_overflow: int = Field(
        default=20, ge=0, validation_alias=AliasChoices("DUBAN_DB_MAX_OVERFLOW", "db_max_overflow")
    )
    # Past this a request gets 503 + Retry-After instead of queueing for a connection.
    db_pool_timeout: float = Field(
        default=5.0, gt=0, validation_alias=AliasChoices("DUBAN_DB_POOL_TIMEOUT", "db_pool_timeout")
    )
    # Seconds an action waits for its workflow to answer (Temporal or the worker down: 503).
    temporal_action_timeout: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("DUBAN_TEMPORAL_TIMEOUT", "temporal_action_timeout"),
    )
    # Seconds to open a PostgreSQL connection before the database counts as down.
    db_connect_timeout: int = Field(
        default=3,
        ge=1,
        validation_alias=AliasChoices("DUBAN_DB_CONNECT_TIMEOUT", "db_connect_timeout"),
    )

    # Evidence in an S3-compatible object store (MinIO, Ceph, AWS) when a bucket is named;
    # unset, the files stay in DUBAN_DATA_DIR/evidence. Credentials: DUBAN_S3_ACCESS_KEY /
    # DUBAN_S3_SECRET_KEY, else boto3's own chain (AWS_ACCESS_KEY_ID, instance roles, ...).
    s3_bucket: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_S3_BUCKET", "s3_bucket")
    )
    s3_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_S3_ENDPOINT", "s3_endpoint")
    )
    s3_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("DUBAN_S3_REGION", "s3_region")
    )
    s3_prefix: str = Field(
        default="evidence/", validation_alias=AliasChoices("DUBAN_S3_PREFIX", "s3_prefix")
    )
    s3_access_key: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_S3_ACCESS_KEY", "s3_access_key")
    )
    s3_secret_key: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_S3_SECRET_KEY", "s3_secret_key")
    )

    # Workflow runs a worker keeps in memory (Temporal's sticky cache); a run not cached is
    # replayed from its history on its next task. A full garbage collection walks every cached
    # run (~0.3 ms each here), and a workflow task caught in a pause over 2 s fails as a
    # deadlock: `make bench` section (h) measures the pauses at each size.
    # Measured (10,000 assignments, 2 cores, frozen start-up): longest pause 3.0 s at 20,000
    # cached, 1.9 s at 5,000, 1.0 s at 2,500, and no slower a start-up at 2,500.
    worker_cache: int = Field(
        default=2_000,
        ge=10,
        le=1_000_000,
        validation_alias=AliasChoices("DUBAN_WORKER_CACHE", "worker_cache"),
    )

    # Seconds between a standby worker's tries for the scheduler lease (the takeover delay
    # after the holder dies).
    scheduler_retry_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("DUBAN_SCHEDULER_RETRY_SECONDS", "scheduler_retry_seconds"),
    )

    # OpenTelemetry traces over OTLP/HTTP (e.g. http://collector:4318); unset, and without
    # OTEL_EXPORTER_OTLP_ENDPOINT, tracing is off (duban/tracing.py).
    otel_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_OTEL_ENDPOINT", "otel_endpoint")
    )

    # host:port where `duban worker` serves the Temporal SDK's Prometheus metrics; unset: off.
    temporal_metrics_bind: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DUBAN_TEMPORAL_METRICS_BIND", "temporal_metrics_bind"),
    )

    trusted_proxies: str = Field(
        default="",
        validation_alias=AliasChoices("DUBAN_TRUSTED_PROXIES", "trusted_proxies"),
    )
    # Strong sign-in (DESIGN.md, "Security"). Password expiry is off by default (0): forced
    # periodic changes make passwords weaker (NIST SP 800-63B); 等保 deployments set e.g. 90.
    password_max_age_days: int = Field(
        default=0,
        ge=0,
        validation_alias=AliasChoices("DUBAN_PASSWORD_MAX_AGE_DAYS", "password_max_age_days"),
    )
    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        validation_alias=AliasChoices("DUBAN_SESSION_IDLE_MINUTES", "session_idle_minutes"),
    )
    session_max_hours: int = Field(
        default=12,
        ge=1,
        validation_alias=AliasChoices("DUBAN_SESSION_MAX_HOURS", "session_max_hours"),
    )
    cookie_secure: bool | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_COOKIE_SECURE", "cookie_secure")
    )
    # Single sign-on through OpenID Connect (DESIGN.md, "Security"); off while no issuer is set.
    oidc_issuer: str | None = Field(
        default=None, validation_alias=AliasChoices("DUBAN_OIDC_ISSUER", "oidc_issuer")
    )
    oidc_client_id: str = Field(
        default="", validation_alias=AliasChoices("DUBAN_OIDC_CLIENT_ID", "oidc_client_id")
    )
    oidc_client_secret: str = Field(
        default="",
        validation_alias=AliasChoices("DUBAN_OIDC_CLIENT_SECRET", "oidc_client_secret"),
    )
    # Which claims name the department and the role, and how their values map onto department
    # codes and roles ("value=code,..."; empty: the value is the code or role itself).
    oidc_department_claim: str = Field(
        default="duban_department",
        validation_alias=AliasChoices("DUBAN_OIDC_DEPARTMENT_CLAIM", "oidc_department_claim"),
    )
    oidc_role_claim: str = Field(
        default="duban_role",
        validation_alias=AliasChoices("DUBAN_OIDC_ROLE_CLAIM", "oidc_role_claim"),
    )
    oidc_department_map: str = Field(
        default="",
        validation_alias=AliasChoices("DUBAN_OIDC_DEPARTMENT_MAP", "oidc_department_map"),
    )
    oidc_role_map: str = Field(
        default="", validation_alias=AliasChoices("DUBAN_OIDC_ROLE_MAP", "oidc_role_map")
    )
    # The `amr` values (RFC 8176) or `acr` values that mean the provider checked a second
    # factor: then duban asks for no TOTP code of its own.
    oidc_mfa_amr: str = Field(
        default="mfa,otp,hwk,swk,sms,sc",
        validation_alias=AliasChoices("DUBAN_OIDC_MFA_AMR", "oidc_mfa_amr"),
    )
    oidc_mfa_acr: str = Field(
        default="", validation_alias=AliasChoices("DUBAN_OIDC_MFA_ACR", "oidc_mfa_acr")
    )

    @property
    def secure_cookies(self) -> bool:
        """Return whether cookies carry Secure (DUBAN_COOKIE_SECURE, else an https base URL)."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url().startswith("https://")

    def secret_key_problem(self) -> str | None:
        """Return why the secret key cannot serve several web replicas in production, or None.

        A generated key differs per process (sessions and tokens of one replica fail on the
        next, and all end at a restart); a short or published one lets anyone forge them.
        """
        if "secret_key" not in self.model_fields_set:
            return "未设置 DUBAN_SECRET_KEY / DUBAN_SECRET_KEY is not set (e.g. openssl rand -base64 48)"
        if len(self.secret_key) < MIN_SECRET_CHARS or self.secret_key.lower() in WEAK_SECRETS:
            return (
                f"DUBAN_SECRET_KEY 过弱 / DUBAN_SECRET_KEY is too weak: use at least "
                f"{MIN_SECRET_CHARS} random characters (e.g. openssl rand -base64 48)"
            )
        return None

    @property
    def evidence_dir(self) -> Path:
        """Return the folder of content-addressed evidence files."""
        return self.data_dir / "evidence"

    def public_url(self, seen_at: str | None = None) -> str:
        """Return DUBAN_BASE_URL, else the address a request came to, else the local default."""
        return (self.base_url or seen_at or LOCAL_BASE_URL).rstrip("/")

    def engine_options(self) -> dict[str, Any]:
        """Return the engine's pool size, overflow, wait and connect timeouts (pre-pinged)."""
        options: dict[str, Any] = {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
            "pool_pre_ping": True,
        }
        if self.sqlalchemy_url.startswith("postgresql"):
            options["connect_args"] = {"connect_timeout": self.db_connect_timeout}
        return options

    @property
    def sqlalchemy_url(self) -> str:
        """Return DATABASE_URL, or a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'duban.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment once."""
    return Settings()
