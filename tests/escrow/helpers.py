"""Builders for escrow tests: statements that add up, their CSV form, institutions with keys."""

from __future__ import annotations

import calendar
import itertools
import uuid
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from supervision.core.clock import FixedClock
from supervision.escrow import keys
from tests.conftest import TODAY, save_institution

_refs = itertools.count(1)
NOW = FixedClock.on(TODAY).now()


def line(date: str, type_: str, amount: int | str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    prefix = {"receipt": "R", "release": "X", "refund": "F"}.get(type_, "Z")
    out = {"date": date, "type": type_, "amount_fen": amount, "ref": ref or f"{prefix}-{next(_refs):06d}"}
    out.update(extra)
    return out


def statement(
    period: str,
    opening: int = 0,
    lines: list[dict[str, Any]] | None = None,
    *,
    mode: str = "bank_custody",
    amends: int | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A statement whose totals, closing, bank balance and liability all agree with its lines."""
    if lines is None:
        lines = [
            line(f"{period}-03", "receipt", 140000, package_code="K1", lessons=20, months=2),
            line(f"{period}-12", "refund", 20000),
            line(f"{period}-28", "release", 50000),
        ]
    totals = {"receipt": 0, "release": 0, "refund": 0}
    for ln in lines:
        if ln.get("type") in totals and isinstance(ln.get("amount_fen"), int):
            totals[ln["type"]] += ln["amount_fen"]
    closing = opening + totals["receipt"] - totals["release"] - totals["refund"]
    doc: dict[str, Any] = {
        "period": period,
        "mode": mode,
        "opening_balance_fen": opening,
        "receipts_fen": totals["receipt"],
        "released_fen": totals["release"],
        "refunds_fen": totals["refund"],
        "closing_balance_fen": closing,
        "bank_reported_balance_fen": closing if mode == "bank_custody" else None,
        "reserve_balance_fen": closing if mode == "risk_reserve" else 0,
        "unearned_liability_fen": closing,
        "amends": amends,
        "lines": lines,
    }
    doc.update(overrides)
    return doc


def to_csv(doc: dict[str, Any], *, with_summary: bool = True) -> str:
    """The statement as CSV: a ``# field: value`` block, the header, the lines."""
    out = []
    if with_summary:
        for key, value in doc.items():
            if key != "lines" and value is not None:
                out.append(f"# {key}: {value}")
    out.append("date,type,amount_fen,ref,package_code,lessons,months")
    for ln in doc["lines"]:
        cells = [
            ln.get(k) for k in ("date", "type", "amount_fen", "ref", "package_code", "lessons", "months")
        ]
        out.append(",".join("" if c is None else str(c) for c in cells))
    return "\n".join(out) + "\n"


def summary_form(doc: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in doc.items() if k != "lines" and v is not None}


def months_before(period: str, n: int) -> str:
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + month - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_day(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{period}-{calendar.monthrange(year, month)[1]:02d}"


def institution_with_key(engine: Engine, **changes: Any) -> tuple[dict[str, Any], str]:
    """A committed institution and a key for it (for tests over HTTP)."""
    now = FixedClock.on(TODAY).now()
    with Session(engine) as s:
        doc = save_institution(s, now=now, **changes)
        key, _ = keys.issue(s, uscc=doc["uscc"], now=now, actor="test")
        s.commit()
    return doc, key


def idem() -> str:
    return uuid.uuid4().hex
