"""Settings from the environment (prefix ``SUPERVISION_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPERVISION_", extra="ignore")

    database_url: str | None = None
    """PostgreSQL URL. Unset: an embedded PostgreSQL kept under ``var_dir``."""
    var_dir: Path = ROOT / "var"
    jurisdiction: str = "440106"
    """Jurisdiction code whose rule parameters and calendars apply (Tianhe district by default)."""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True
    max_upload_bytes: int = 60 * 1024 * 1024
    max_statement_bytes: int = 20 * 1024 * 1024
    """Largest escrow statement accepted (JSON body or CSV upload), enforced while the body is read."""
    portal_session_hours: int = 8
    """A portal session ends this many hours after sign-in, whatever it does (absolute timeout)."""
    staff_session_hours: int = 12
    """A console or API session ends this many hours after sign-in, whatever it does (absolute timeout)."""
    session_idle_minutes: int = 30
    """A staff or portal session not used for this long ends (idle timeout), checked on every request."""
    secure_cookies: bool = False
    """The service is served over HTTPS: session and CSRF cookies are ``Secure`` and named with the
    ``__Host-`` prefix (bound to this host, path ``/``)."""
    sign_in_account_limit: int = 5
    """Failed sign-ins of one account within ``sign_in_window_seconds`` that lock it."""
    sign_in_address_limit: int = 30
    """Failed sign-ins from one client address within the window that lock the address."""
    sign_in_window_seconds: int = 15 * 60
    sign_in_lockout_seconds: int = 15 * 60
    """How long a locked account or address is refused before it may try again."""
    password_hashes_at_once: int = 2
    """Password hashes (argon2id, 64 MiB each) computed at once per process; a sign-in beyond waits up to
    ``password_hash_wait_seconds``, then is answered 503 with ``Retry-After``."""
    password_hash_wait_seconds: float = 3.0
    publish_cron: str = "0 9 * * mon"
    """When the lists are published: crontab fields in Asia/Shanghai (name the weekday: mon, not 1)."""
    rule_run_cron: str = "0 2 * * *"
    """The nightly full rule run, Asia/Shanghai."""
    follow_up_cron: str = "0 6 * * *"
    """The daily rectification follow-up (after the nightly rule run), Asia/Shanghai."""
    purge_sessions_cron: str = "15 * * * *"
    """When ended sessions and old sign-in counts are deleted (hourly), Asia/Shanghai."""
    scheduler_grace_hours: int = 12
    """A scheduled run missed by up to this long (a restart, a pause) is still run, once."""
    complaint_limit: int = 5
    complaint_window_seconds: int = 600
    """At most ``complaint_limit`` complaints per client address per window."""
    today: str | None = None
    """Pin the business date (YYYY-MM-DD), for demos and tests. Unset: today in Asia/Shanghai."""
    inspection_checklist: Path | None = None
    """The inspection checklist (YAML) to use instead of the default ``supervision/cases/checklist.yaml``."""
    inspection_max_file_bytes: int = 10 * 1024 * 1024
    """``inspection.max_file_bytes``: the largest evidence file (photo or PDF) accepted."""
    trusted_proxies: str = ""
    """The reverse proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed (comma-separated
    addresses or networks, e.g. ``10.0.0.5,10.1.0.0/16``). Empty: none; the client address is the socket's,
    and rate limits count it."""
    app_role: str | None = None
    """The PostgreSQL role the application works as (``SET ROLE`` on every connection of the service, its
    scheduler and its commands): it owns nothing and may only read and append to the append-only tables.
    The migration ``0011`` creates ``supervision_app``. Unset: the login user. Migrations always run as the
    login user (the tables' owner)."""
    statement_timeout_ms: int = 30_000
    """Longest any one SQL statement may run (``statement_timeout``) on the service's connections."""
    lock_timeout_ms: int = 5_000
    """Longest a statement may wait for a lock (``lock_timeout``)."""
    bulk_statement_timeout_ms: int = 60 * 60_000
    """The statement timeout inside the bulk transactions (a full rule run, a registry import, a list
    publication), set for those transactions only."""
    as_of_window_years: int = 10
    """A business date given as input (``as_of``) lies within this many years of today."""
    publish_ahead_days: int = 7
    """A list edition may be dated at most this many days after today (and never before the latest one)."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
