"""Registry changes that the rules must see (登记变更与规则): the registry's use cases that also involve the
findings, kept here because the compliance area may call the registry but not the other way round."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from supervision.compliance import queries
from supervision.compliance.service import hold_findings, reevaluate_uscc
from supervision.registry import service as registry


def save_institution(
    session: Session, raw: Any, *, actor: str, now: dt.datetime, as_of: dt.date, mode: str
) -> tuple[str, dict[str, Any]]:
    """Save one institution document (``create`` or ``upsert``), then re-evaluate its rules as of ``as_of``,
    so its findings never describe a document it no longer has. Returns (``created``|``updated``|
    ``unchanged``, the stored document)."""
    outcome, stored = registry.save_one(session, raw, actor=actor, now=now, mode=mode)
    reevaluate_uscc(session, stored["uscc"], as_of, actor, now=now)
    return outcome, stored


def delete_institution(session: Session, uscc: str, *, actor: str, now: dt.datetime) -> None:
    """Delete an institution registered by mistake, with its findings and risk tier (a trigger deletes them).
    The findings are held first, so that a full rule run never writes findings for an institution deleted
    under it, and the institution's own lock, so that a re-evaluation of it finishes before or finds it gone
    (the derived rows have no foreign key to refuse them, migration 0014)."""
    hold_findings(session)
    iid = queries.institution_id(session, uscc)
    if iid is not None:
        queries.lock_institution(session, iid)
    registry.delete(session, uscc, actor=actor, now=now)
