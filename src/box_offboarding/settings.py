"""All settings, read once from the environment (and an optional ``.env`` file) and passed down.

Box connection settings use the ``BOX_`` prefix (``BOX_BASE_URL``, ``BOX_CLIENT_ID``...); pipeline settings use
``OFFBOARD_`` (``OFFBOARD_BATCH_SIZE``...). Secrets are :class:`~pydantic.SecretStr`: their repr is masked and
they are only revealed at the moment a request is built.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIRMATION_EVENT_TYPES = ("TERMINATE_USER_SESSIONS",)

#: How logins are resolved to Box users (:mod:`~box_offboarding.resolve`): ``auto`` picks the cheaper strategy.
ResolveStrategy = Literal["auto", "lookup", "scan"]


class BoxSettings(BaseSettings):
    """How to reach and authenticate against Box (or the simulator), and how hard to push it."""

    model_config = SettingsConfigDict(env_prefix="BOX_", env_file=".env", extra="ignore")

    base_url: str = Field("https://api.box.com", description="API origin; /2.0 and /oauth2/token hang off it.")
    upload_url: str = Field("https://upload.box.com/api", description="Upload origin; /2.0/files/content.")
    web_url: str = Field(
        "https://app.box.com/file",
        description="Where a person opens an uploaded file: <web_url>/<file id> (the simulator: its /_sim/uploads).",
    )
    client_id: str = Field("", description="Client-credentials app's client id.")
    client_secret: SecretStr = Field(SecretStr(""), description="Client-credentials app's client secret.")
    enterprise_id: str = Field("", description="Enterprise id (box_subject_id) the service account acts in.")
    developer_token: SecretStr | None = Field(
        None,
        description="A bare bearer token (60 min) instead of client credentials, for trying things by hand.",
    )
    rate_limit_per_minute: float = Field(
        1000.0, gt=0, description="Box's request budget per minute for this caller (Box: about 1000)."
    )
    rate_limit_headroom: float = Field(
        0.97,
        gt=0,
        le=1,
        description="Share of the budget the client aims for, so the limiter's burst never trips Box's window.",
    )
    max_in_flight: int = Field(16, ge=1, le=256, description="Upper bound on concurrent requests.")
    timeout_seconds: float = Field(30.0, gt=0, description="Per-request timeout (connect, read, write).")
    max_attempts: int = Field(6, ge=1, le=20, description="Attempts per request, the first included.")
    max_retry_seconds: float = Field(300.0, gt=0, description="Give up retrying a request after this long.")
    backoff_initial_seconds: float = Field(0.5, ge=0, description="First back-off; doubles per attempt.")
    backoff_max_seconds: float = Field(30.0, ge=0, description="Longest single back-off (retry-after wins).")
    token_refresh_margin_seconds: float = Field(60.0, ge=0, description="Renew the token this long before it expires.")
    global_rate_limit_name: str | None = Field(
        None,
        description="Name of a Prefect global concurrency limit to use as the shared rate limiter "
        "(several workers, one budget). Unset: an in-process limiter.",
    )

    @property
    def api_url(self) -> str:
        """Base of the versioned API, e.g. ``https://api.box.com/2.0``."""
        return self.base_url.rstrip("/") + "/2.0"

    @property
    def token_url(self) -> str:
        return self.base_url.rstrip("/") + "/oauth2/token"

    @property
    def upload_api_url(self) -> str:
        return self.upload_url.rstrip("/") + "/2.0"

    @model_validator(mode="after")
    def _urls_are_http(self) -> BoxSettings:
        for name in ("base_url", "upload_url", "web_url"):
            value = getattr(self, name)
            if not value.startswith(("http://", "https://")):
                raise ValueError(f"BOX_{name.upper()} must start with http:// or https:// (got {value!r})")
        return self


class Settings(BaseSettings):
    """The product's settings: one object, built once (:func:`load_settings`) and passed down."""

    model_config = SettingsConfigDict(env_prefix="OFFBOARD_", env_file=".env", extra="ignore")

    box: BoxSettings = Field(default_factory=BoxSettings)

    # where things live
    ledger_path: Path = Field(Path("data/ledger.sqlite"), description="SQLite audit ledger.")
    report_dir: Path = Field(Path("reports"), description="Where Excel reports are written.")
    inbox_dir: Path = Field(Path("data/inbox"), description="Default folder of HR files.")
    protected_path: Path | None = Field(None, description="File of logins never to terminate (one per line).")
    timezone: str = Field("UTC", description="Timezone that decides 'today' for the as-of date.")

    # ingest
    sheets: tuple[str, ...] = Field(
        (),
        description="Workbook sheets to read as leavers (case-insensitive), instead of deciding by content and name. "
        "Sheets whose name says their people stay (rehires, cancellations ...) still hold those people.",
    )
    login_headers: tuple[str, ...] = Field((), description="Extra header names that mean 'login'.")
    date_headers: tuple[str, ...] = Field((), description="Extra header names that mean 'termination date'.")
    name_headers: tuple[str, ...] = Field((), description="Extra header names that mean 'name'.")
    employee_id_headers: tuple[str, ...] = Field((), description="Extra header names that mean 'employee id'.")
    day_first: bool | None = Field(
        None,
        description="For a date column whose slashed dates are all ambiguous (03/04/2026): true reads them day first,"
        " false month first; unset, the language of the column's header decides (French, German, Spanish, Dutch:"
        " day first; English: month first).",
    )

    # validate and resolve
    protect_admins: bool = Field(True, description="Never terminate Box admins and co-admins.")
    resolve_strategy: ResolveStrategy = Field("auto", description="auto | lookup | scan (see README).")
    directory_size_hint: int | None = Field(
        None, ge=0, description="Known enterprise size, for choosing the resolution strategy without a probe."
    )

    # blast-radius guard
    max_users: int = Field(500, ge=0, description="Stop before terminating more users than this.")
    max_share: float = Field(0.05, ge=0, le=1, description="... or more than this share of the directory.")
    allow_large_run: bool = Field(False, description="Lift the blast-radius guard for this run.")

    # approval (Prefect runs: README "Deploying on Prefect")
    approval: Literal["always", "on_guard", "never"] = Field(
        "never",
        description="Which live flow runs wait for a person's approval before sending: always (the manual"
        " deployment), on_guard (only when the blast-radius guard trips: the nightly one) or never (the guard stops"
        " the run, as on the command line).",
    )
    approval_timeout_seconds: float = Field(
        3600, ge=1, description="How long a run waits for an approval; no answer: nothing is sent."
    )
    approval_poll_seconds: float = Field(10, ge=1, description="How often a waiting run checks for the answer.")

    # terminate
    dry_run: bool = Field(False, description="Do everything except the termination calls.")
    batch_size: int = Field(100, ge=1, le=1000, description="Users per terminate_sessions call.")
    batch_concurrency: int = Field(4, ge=1, le=64, description="Batches in flight at once.")
    force: bool = Field(False, description="Terminate again users confirmed in an earlier run.")

    # several workers, one offboarding: each run takes the rows whose login hashes to its shard
    shard_index: int = Field(0, ge=0, description="This run's shard (0-based) when the work is split across runs.")
    shard_count: int = Field(1, ge=1, le=64, description="How many shards the work is split into.")

    # reconcile
    confirmation_event_types: tuple[str, ...] = Field(
        DEFAULT_CONFIRMATION_EVENT_TYPES,
        description="Admin event types that prove a termination. Box does not publish it: verify against one "
        "manual termination in your tenant.",
    )
    confirm_timeout_seconds: float = Field(
        120.0, ge=0, description="How long to poll for events (0: don't); also the wait for a lost batch's events."
    )
    confirm_poll_seconds: float = Field(5.0, ge=0, description="Pause between event polls.")
    event_skew_seconds: float = Field(300.0, ge=0, description="Read events from this long before the first request.")
    event_lag_seconds: float = Field(0.0, ge=0, description="Read events up to now minus this.")
    relogin_event_types: tuple[str, ...] = Field(("LOGIN",), description="Event types that mean 'signed in'.")

    # delivery
    box_folder_id: str | None = Field(None, description="Also upload the report to this Box folder.")
    smtp_host: str | None = Field(None, description="Also email the report through this SMTP server.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls | ssl (implicit TLS) | none."
    )
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="SMTP connection timeout.")
    mail_from: str | None = Field(None, description="Sender address of the report email.")
    mail_to: tuple[str, ...] = Field((), description="Recipients of the report email.")

    def safe_summary(self) -> dict[str, str]:
        """The settings worth showing in a report or the ledger: no credentials."""
        return {
            "box_base_url": self.box.base_url,
            "dry_run": str(self.dry_run),
            "batch_size": str(self.batch_size),
            "batch_concurrency": str(self.batch_concurrency),
            "max_users": str(self.max_users),
            "max_share": str(self.max_share),
            "allow_large_run": str(self.allow_large_run),
            "approval": self.approval,
            "protect_admins": str(self.protect_admins),
            "force": str(self.force),
            "confirmation_event_types": ",".join(self.confirmation_event_types),
            "confirm_timeout_seconds": str(self.confirm_timeout_seconds),
            "rate_limit_per_minute": str(self.box.rate_limit_per_minute),
            "resolve_strategy": self.resolve_strategy,
            "shard": f"{self.shard_index + 1} of {self.shard_count}",
        }

    def today(self) -> date:
        """Today's date in :attr:`timezone`: the default as-of date of a run."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {value!r} (an IANA name such as Europe/Berlin)") from error
        return value

    @model_validator(mode="after")
    def _shard_in_range(self) -> Settings:
        if self.shard_index >= self.shard_count:
            raise ValueError(f"shard_index {self.shard_index} must be below shard_count {self.shard_count}")
        return self


def load_settings(**overrides: object) -> Settings:
    """Build the settings once from the environment, with explicit overrides (CLI flags, flow parameters)."""
    return Settings(**overrides)  # type: ignore[arg-type]
