"""The service's connections: timeouts on every one, and the application's role, which owns nothing and may
only read and append to the append-only tables (migration 0011)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from supervision.core.audit import APP_ROLE
from supervision.db import bulk_timeouts, connect_options, connection_options

APPEND_ONLY = (
    "audit_log",
    "escrow_statement",
    "escrow_statement_line",
    "escrow_idempotency",
    "escrow_transaction",
    "escrow_entry",
    "decision",
    "list_entry",
    "list_change",
    "case_event",
    "inspection",
    "attachment",
)


def sqlstate(engine: Engine, sql: str) -> str | None:
    """The SQLSTATE ``sql`` fails with (in a transaction rolled back), or None if it succeeds."""
    with engine.connect() as conn:
        try:
            conn.execute(text(sql))
        except DBAPIError as exc:
            return getattr(exc.orig, "sqlstate", None)
        finally:
            conn.rollback()
    return None


def test_the_service_connections_have_timeouts_and_work_as_the_app_role(app_engine: Engine) -> None:
    with app_engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT current_user, session_user, current_setting('statement_timeout') AS st,"
                " current_setting('lock_timeout') AS lt, current_setting('TimeZone') AS tz"
            )
        ).one()
    assert row.current_user == APP_ROLE and row.session_user != APP_ROLE
    assert (row.st, row.lt, row.tz) == ("30s", "5s", "UTC")


def test_the_app_role_owns_nothing(engine: Engine) -> None:
    with engine.connect() as conn:
        owned = conn.execute(
            text(
                # Its sessions' temporary tables aside (a pooled connection keeps them until it closes).
                "SELECT count(*) FROM pg_class WHERE relpersistence <> 't'"
                " AND relowner = (SELECT oid FROM pg_roles WHERE rolname = :r)"
            ),
            {"r": APP_ROLE},
        ).scalar_one()
        role = conn.execute(
            text(
                "SELECT rolcanlogin, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = :r"
            ),
            {"r": APP_ROLE},
        ).one()
    assert owned == 0
    assert tuple(role) == (False, False, False, False)


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_append_only_tables_refuse_the_app_role_by_privilege(
    engine: Engine, app_engine: Engine, table: str
) -> None:
    """Not only the trigger (it fires on rows; these statements are refused with none to touch): the app role
    has no UPDATE or DELETE privilege, and may not alter the table (so it cannot disable the trigger)."""
    with engine.connect() as conn:
        column = conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = :t LIMIT 1"),
            {"t": table},
        ).scalar_one()
    assert sqlstate(app_engine, f"DELETE FROM {table}") == "42501"
    assert sqlstate(app_engine, f"UPDATE {table} SET {column} = {column}") == "42501"
    assert sqlstate(app_engine, f"ALTER TABLE {table} DISABLE TRIGGER USER") == "42501"
    assert sqlstate(app_engine, f"TRUNCATE {table}") == "42501"
    assert sqlstate(app_engine, f"SELECT count(*) FROM {table}") is None


def test_the_app_role_privileges_are_what_the_tables_need(app_engine: Engine) -> None:
    tables = ["institution", "rate_limit_window", "list_edition", "enforcement_case", "complaint"]
    with app_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t, has_table_privilege(t, 'INSERT'), has_table_privilege(t, 'UPDATE'),"
                " has_table_privilege(t, 'DELETE') FROM unnest(CAST(:tables AS text[])) AS t"
            ),
            {"tables": tables},
        ).all()
    granted = {r[0]: tuple(r[1:]) for r in rows}
    assert granted == {
        "institution": (True, True, True),
        "rate_limit_window": (True, True, True),
        "list_edition": (True, True, True),  # claimed, then completed, in the publishing transaction
        "enforcement_case": (True, True, True),
        "complaint": (True, True, False),  # triaged, never deleted (its trigger refuses DELETE only)
    }
    # The migration history is the owner's, and so is disabling a trigger anywhere.
    assert sqlstate(app_engine, "UPDATE alembic_version SET version_num = version_num") == "42501"
    assert sqlstate(app_engine, "ALTER TABLE institution DISABLE TRIGGER ALL") == "42501"
    assert sqlstate(app_engine, "SET session_replication_role = replica") == "42501"


def test_the_owner_may_alter_tables_and_only_the_trigger_stops_its_changes(engine: Engine) -> None:
    """The contrast: migrations run as the owner, who may alter tables; only the trigger stops a change."""
    with engine.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, entity, entity_key)"
                " VALUES (now(), 'test', 'probe', 'probe', 'probe')"
            )
        )
        with pytest.raises(DBAPIError) as caught, conn.begin_nested():
            conn.execute(text("DELETE FROM audit_log WHERE action = 'probe'"))
        assert "append-only" in str(caught.value)
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        conn.rollback()


def test_bulk_transactions_raise_their_own_timeouts(app_engine: Engine) -> None:
    with Session(app_engine) as session:
        bulk_timeouts(session, 120_000)
        st = session.execute(text("SELECT current_setting('statement_timeout')")).scalar_one()
        options = connection_options(session)
        session.rollback()
        after = session.execute(text("SELECT current_setting('statement_timeout')")).scalar_one()
    assert (st, after) == ("2min", "30s")
    assert options == f"-c statement_timeout=2min -c lock_timeout=2min -c role={APP_ROLE}"


def test_connect_options_refuse_what_is_not_a_role_name() -> None:
    assert connect_options() == "-c timezone=UTC"
    with pytest.raises(ValueError):
        connect_options(role="x -c statement_timeout=0")
