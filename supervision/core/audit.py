"""The audit log (审计日志): who changed what, when, with the record before and after.

Append-only: a database trigger (created by the first migration) refuses UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Engine, Text
from sqlmodel import Field, Session, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

security_log = logging.getLogger("supervision.security")

SECURITY_ENTITIES = frozenset({"security", "institution_key", "decision", "list_edition"})
"""Audit rows that are also security events of the structured log (logger ``supervision.security``): sign-in,
sign-out and lockouts (entity ``security``), institution keys issued and revoked, decisions recorded and list
editions published."""


class AuditLog(SQLModel, table=True):
    """审计日志 — one row per change."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    entity: str = Field(sa_column=Column(Text, nullable=False))
    entity_key: str = Field(sa_column=Column(Text, nullable=False, index=True))
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    request_id: str | None = Field(default=None, sa_column=Column(Text))


def record(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditLog(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_key=key,
            before=before,
            after=after,
            request_id=request_id_var.get(),
        )
    )
    if entity in SECURITY_ENTITIES:
        security_log.info(
            "%s %s", entity, action, extra={"event": f"{entity}.{action}", "actor": actor, "subject": key}
        )


def security_event(
    session: Session, *, at: dt.datetime, actor: str, event: str, subject: str, **details: Any
) -> None:
    """A security event (安全事件: a sign-in, a failed one, a lockout, a sign-out, a refused key): one
    audit row (entity ``security``, action ``event``) and one line of the structured log."""
    record(
        session,
        at=at,
        actor=actor,
        action=event,
        entity="security",
        key=subject,
        before=None,
        after=details or None,
    )


def security_event_committed(
    engine: Engine, *, at: dt.datetime, actor: str, event: str, subject: str, **details: Any
) -> None:
    """:func:`security_event` in a transaction of its own, committed at once: kept whatever becomes of the
    request (a refused request rolls its own work back)."""
    with Session(engine) as session:
        security_event(session, at=at, actor=actor, event=event, subject=subject, **details)
        session.commit()


APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""


APP_ROLE = "supervision_app"
"""The role the application works as (migration 0011, ``SUPERVISION_APP_ROLE``)."""


def append_only_trigger_sql(table: str) -> list[str]:
    """SQL that makes ``table`` append-only (used by migrations): triggers refusing UPDATE, DELETE and
    TRUNCATE, and, where the application's role exists, its UPDATE and DELETE privileges taken back (a new
    table gets them by default)."""
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()",
        f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"REVOKE UPDATE, DELETE ON {table} FROM {APP_ROLE}; END IF; END $$",
    ]
