"""The schema comes from Alembic only: no drift from the models, migrations reversible, audit append-only."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy.exc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from alembic import command
from supervision.core import audit
from supervision.db import alembic_config, scratch_database


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    command.check(alembic_config(database_url))


@pytest.fixture
def scratch_url(database_url: str):  # type: ignore[no-untyped-def]
    name = f"{make_url(database_url).database}_updown"
    with scratch_database(database_url, name, migrated=False) as url:
        yield url


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    cfg = alembic_config(scratch_url)
    command.upgrade(cfg, "heads")
    command.downgrade(cfg, "base")
    eng = create_engine(scratch_url)
    with eng.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT count(*) FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ).scalar_one()
    eng.dispose()
    assert tables == 0
    command.upgrade(cfg, "heads")
    command.check(cfg)


def test_audit_log_refuses_update_delete_truncate(session: Session) -> None:
    audit.record(
        session,
        at=dt.datetime.now(dt.UTC),
        actor="test",
        action="create",
        entity="x",
        key="k",
        before=None,
        after={"a": 1},
    )
    session.flush()
    for stmt in ("UPDATE audit_log SET actor = 'evil'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        nested = session.begin_nested()
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            session.execute(text(stmt))
        nested.rollback()
