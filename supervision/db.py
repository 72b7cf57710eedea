"""Database engine and sessions.

With ``SUPERVISION_DATABASE_URL`` set, that PostgreSQL is used. Without it an embedded PostgreSQL (the
``pgserver`` package, real PostgreSQL binaries in a wheel) is started under ``var/pgdata`` and kept running
between commands, so ``make run`` needs nothing installed by hand. SQLite is never used.

Every connection of the service (web, scheduler, commands: :func:`get_engine`) has a ``statement_timeout``
and a ``lock_timeout`` (``SUPERVISION_STATEMENT_TIMEOUT_MS``, ``SUPERVISION_LOCK_TIMEOUT_MS``) and, with
``SUPERVISION_APP_ROLE`` set, works as that role (``SET ROLE`` at connection): one that owns nothing and may
only read and append to the append-only tables (migration ``0011``). Migrations connect on their own, as the
login user, who owns the tables. The bulk transactions (a full rule run, a registry import, a list
publication) raise both timeouts for themselves (:func:`bulk_timeouts`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from supervision.settings import get_settings


def embedded_url(var_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under ``var_dir/pgdata`` and return its SQLAlchemy URL."""
    # pgserver keeps its lock files in the runtime directory, which must be private to the user (0700).
    run_dir = var_dir / "run"
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))
    import pgserver  # imported lazily: only needed without a configured URL

    pgserver.get_server(var_dir / "pgdata", cleanup_mode=None)  # type: ignore[attr-defined]
    host = str(var_dir / "pgdata")
    return f"postgresql+psycopg://postgres@/postgres?host={host}"


def sqlalchemy_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def database_url() -> str:
    settings = get_settings()
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    return embedded_url(settings.var_dir)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(
        database_url(),
        role=settings.app_role,
        statement_timeout_ms=settings.statement_timeout_ms,
        lock_timeout_ms=settings.lock_timeout_ms,
    )


ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def connect_options(
    *, role: str | None = None, statement_timeout_ms: int | None = None, lock_timeout_ms: int | None = None
) -> str:
    """The server settings of a new connection (libpq ``options``): UTC, the timeouts, the role."""
    parts = ["-c timezone=UTC"]
    if statement_timeout_ms is not None:
        parts.append(f"-c statement_timeout={int(statement_timeout_ms)}")
    if lock_timeout_ms is not None:
        parts.append(f"-c lock_timeout={int(lock_timeout_ms)}")
    if role:
        if not ROLE_NAME.fullmatch(role):
            raise ValueError(f"not a plain role name: {role!r}")
        parts.append(f"-c role={role}")
    return " ".join(parts)


def make_engine(
    url: str,
    *,
    role: str | None = None,
    statement_timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
) -> Engine:
    """An engine on ``url``; each connection works as ``role`` (when given) with the timeouts given."""
    options = connect_options(
        role=role, statement_timeout_ms=statement_timeout_ms, lock_timeout_ms=lock_timeout_ms
    )
    return create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"options": options},
    )


def bulk_timeouts(session: Session, milliseconds: int | None = None) -> None:
    """Raise the statement and lock timeouts for the rest of ``session``'s transaction (``SET LOCAL``): a
    bulk run or import may take longer than a request; default ``SUPERVISION_BULK_STATEMENT_TIMEOUT_MS``."""
    ms = get_settings().bulk_statement_timeout_ms if milliseconds is None else milliseconds
    session.execute(
        text("SELECT set_config('statement_timeout', :v, true), set_config('lock_timeout', :v, true)"),
        {"v": str(int(ms))},
    )


def connection_options(session: Session) -> str:
    """The role and timeouts ``session``'s connection works with, as ``options`` for another connection
    (the worker processes of a bulk run)."""
    row = session.execute(
        text(
            "SELECT current_user = session_user AS own, current_user AS role,"
            " current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt"
        )
    ).one()
    parts = [f"-c statement_timeout={row.st.replace(' ', '')}", f"-c lock_timeout={row.lt.replace(' ', '')}"]
    if not row.own and ROLE_NAME.fullmatch(row.role):
        parts.append(f"-c role={row.role}")
    return " ".join(parts)


def raw_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under ``session``, in its transaction: for COPY and other bulk work."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    return raw  # type: ignore[no-any-return]


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error (CLI commands and jobs)."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from supervision.settings import ROOT

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (the only way the schema changes)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def ping(engine: Engine) -> None:
    """Raise unless the database answers."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@contextmanager
def scratch_database(server_url: str, name: str, *, migrated: bool = True) -> Iterator[str]:
    """A database made afresh on the server of ``server_url`` (migrated unless told not to), dropped after.

    For tests and benchmarks: they never touch a database someone works in.
    """
    base = make_url(server_url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        if migrated:
            migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
