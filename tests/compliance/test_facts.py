"""What the rules read of a statement (``compliance.facts.statement``): its summary and its receipt lines.

Leaving the other lines out changes no finding: for generated statements with every kind of line (releases
and refunds with lessons, months and amounts over the prepaid limits too) and for every golden case, the
findings from the facts equal those from the whole statements.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Engine
from rules.golden_cases import load_cases
from supervision.compliance import facts
from supervision.escrow.schemas import Line, line_dict
from tests.conftest import example_document

ENGINE = Engine.load("440106")
AS_OF = dt.date(2026, 11, 30)


def whole(summary: dict[str, Any], lines: list[Line]) -> dict[str, Any]:
    """The statement as submitted: every line, in the shape of the data formats."""
    return {**summary, "lines": [line_dict(x) for x in lines]}


def as_tuple(line: dict[str, Any]) -> Line:
    return (
        str(line["date"]),
        line["type"],
        line["amount_fen"],
        line["ref"],
        line.get("package_code"),
        line.get("lessons"),
        line.get("months"),
    )


@st.composite
def statement(draw: st.DrawFn, month: int) -> tuple[dict[str, Any], list[Line]]:
    period = f"2026-{month:02d}"
    lines: list[Line] = []
    for i, kind in enumerate(draw(st.lists(st.sampled_from(["receipt", "release", "refund"]), max_size=8))):
        counted = draw(st.booleans())
        lines.append(
            (
                f"{period}-{draw(st.integers(1, 28)):02d}",
                kind,
                draw(st.integers(1, 900_000)),
                f"{kind[0].upper()}-{i:04d}",
                draw(st.sampled_from([None, "K1", "K9"])),
                draw(st.integers(1, 100)) if counted else None,
                draw(st.integers(1, 8)) if counted else None,
            )
        )
    totals = {k: sum(x[2] for x in lines if x[1] == k) for k in ("receipt", "release", "refund")}
    opening = draw(st.integers(totals["release"] + totals["refund"], 9_000_000))
    closing = opening + totals["receipt"] - totals["release"] - totals["refund"]
    summary = {
        "id": month,
        "period": period,
        "mode": draw(st.sampled_from(["bank_custody", "risk_reserve"])),
        "opening_balance_fen": opening,
        "receipts_fen": totals["receipt"],
        "released_fen": totals["release"],
        "refunds_fen": totals["refund"],
        "closing_balance_fen": closing,
        "bank_reported_balance_fen": draw(st.sampled_from([closing, closing + 1, None])),
        "reserve_balance_fen": draw(st.sampled_from([closing, 0, None])),
        "unearned_liability_fen": draw(st.integers(0, 9_000_000)),
        "amends": None,
    }
    return summary, lines


@st.composite
def statements(draw: st.DrawFn) -> list[tuple[dict[str, Any], list[Line]]]:
    months = draw(st.lists(st.integers(1, 11), max_size=4, unique=True))
    return [draw(statement(m)) for m in months]


ACCOUNTS = [
    {"mode": "bank_custody", "bank": "示例银行", "account_last4": "1234"},
    {"mode": "risk_reserve", "bank": "示例银行", "account_last4": "5678"},
    None,
]


@settings(max_examples=300, deadline=None)
@given(sts=statements(), escrow=st.sampled_from(ACCOUNTS), packages=st.booleans(), day=st.integers(0, 60))
def test_the_facts_give_the_findings_of_the_whole_statements(
    sts: list[tuple[dict[str, Any], list[Line]]], escrow: dict[str, Any] | None, packages: bool, day: int
) -> None:
    doc = example_document(escrow=escrow)
    if not packages:
        for course in doc["courses"]:
            course["prepaid_packages"] = []
    ctx = ENGINE.at(AS_OF - dt.timedelta(days=day))
    # As the database read gives them: every line of the latest statement, the receipts of the others.
    month = ctx.as_of.isoformat()[:7]
    latest = max((s["period"] for s, _ in sts if s["period"] <= month), default=None)
    built = [facts.statement(s, lines, latest=s["period"] == latest) for s, lines in sts]
    from_facts = ctx.evaluate(doc, built)
    assert from_facts.to_dict() == ctx.evaluate(doc, [whole(s, lines) for s, lines in sts]).to_dict()
    for (s, lines), fact in zip(sts, built, strict=True):
        kept = facts.LATEST_LINE_TYPES if s["period"] == latest else facts.RULE_LINE_TYPES
        assert fact["lines"] == [line_dict(x) for x in lines if x[1] in kept]


def test_golden_cases_find_the_same_from_the_facts() -> None:
    cases = [c for c in load_cases() if c.statements and not c.overlay]
    assert any(line["type"] == "receipt" for c in cases for s in c.statements or () for line in s["lines"])
    for case in cases:
        assert case.statements is not None
        sts = [{**s, "id": s.get("id", i)} for i, s in enumerate(case.statements)]
        ctx = (
            ENGINE.at(case.as_of)
            if case.jurisdiction == "440106"
            else Engine.load(case.jurisdiction).at(case.as_of)
        )
        latest = max(s["period"] for s in sts)
        from_facts = [
            facts.statement(s, [as_tuple(x) for x in s["lines"]], latest=s["period"] == latest) for s in sts
        ]
        assert ctx.evaluate(case.doc, from_facts).to_dict() == ctx.evaluate(case.doc, sts).to_dict(), case.id
