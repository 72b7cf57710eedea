"""Builders for list tests: decisions, the next free list date, open findings."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from supervision.cases import service as cases
from supervision.cases.schemas import DecisionIn, DecisionOut
from tests.conftest import TODAY

NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def decide(session: Session, uscc: str, kind: str, now: dt.datetime = NOW, **fields: Any) -> DecisionOut:
    data = {"uscc": uscc, "kind": kind, "summary": fields.pop("summary", "测试决定"), **fields}
    if kind != "lift":
        data.setdefault("basis", ["CONDUCT-OTHER"])
    if kind == "rectification_order":
        data.setdefault("deadline", "2026-12-31")
    return cases.record_decision(
        session, DecisionIn.model_validate(data), actor="test", officer="测试员", now=now
    )


def next_as_of(session: Session) -> dt.date:
    """A list date after every edition already in this database (other tests may have committed some)."""
    last = session.execute(text("SELECT max(as_of) FROM list_edition")).scalar()
    return max(TODAY, last + dt.timedelta(days=1)) if last else TODAY


def recompute(edition: dict[str, Any]) -> str:
    """formats.md, independently of the service: json.dumps with sorted keys, compact, non-ASCII as-is."""
    body = {k: v for k, v in edition.items() if k != "sha256"}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def open_finding(session: Session, institution_id: int, rule_id: str, severity: str) -> None:
    """An open finding, as a rule run leaves it (written directly: the rule run is another area's service;
    every NOT NULL column the finding table has is given a plausible value)."""
    run = session.execute(
        text(
            "INSERT INTO rule_run (scope, as_of, jurisdiction, parameter_hash, engine_version, started_at,"
            " institutions, counts, uncovered_dates, actor) VALUES ('full', :d, '440106', 'x', 'x', :now, 1,"
            " '{}', '[]', 'test') RETURNING id"
        ),
        {"d": TODAY, "now": NOW},
    ).scalar_one()
    known: dict[str, Any] = {
        "institution_id": institution_id,
        "rule_id": rule_id,
        "rule_version": 1,
        "severity": severity,
        "subject": "institution",
        "status": "open",
        "first_seen_on": TODAY,
        "trace": "{}",
    }
    columns = session.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'finding'"
            " AND is_nullable = 'NO' AND column_default IS NULL"
        )
    ).all()
    values: dict[str, Any] = {}
    for name, kind in columns:
        if name in known:
            values[name] = known[name]
        elif name.endswith("run_id"):
            values[name] = run
        elif kind in ("integer", "bigint", "smallint"):
            values[name] = 1
        elif kind == "date":
            values[name] = TODAY
        elif kind.startswith("timestamp"):
            values[name] = NOW
        elif kind == "jsonb":
            values[name] = "{}"
        else:
            values[name] = "test"
    names = list(values)
    session.execute(
        text(f"INSERT INTO finding ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"),
        values,
    )
