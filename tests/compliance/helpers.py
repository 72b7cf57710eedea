"""Builders for compliance tests: expired institutions, findings read back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from tests.conftest import TODAY, example_document

AS_OF = TODAY


def expired(**changes: Any) -> dict[str, Any]:
    """An institution whose licence expired the day before ``AS_OF`` (LIC-EXPIRED, critical)."""
    doc = example_document(**changes)
    doc["licence"]["valid_until"] = (AS_OF - dt.timedelta(days=1)).isoformat()
    return doc


def findings_of(session: Session, institution_id: int) -> list[dict[str, Any]]:
    """Every finding of an institution, oldest first."""
    rows = session.execute(
        text(
            "SELECT id, rule_id, subject, severity, status, first_seen_on, first_run_id, updated_run_id,"
            " resolved_on, resolved_run_id, digest, message_zh, trace FROM finding"
            " WHERE institution_id = :i ORDER BY id"
        ),
        {"i": institution_id},
    )
    return [dict(r._mapping) for r in rows]


def by_rule(rows: list[dict[str, Any]], rule_id: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["rule_id"] == rule_id]


def count(session: Session, table: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
