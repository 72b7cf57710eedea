"""Property: for any sequence of valid statements and corrections, in any order of periods, every transaction
sums to zero, stored balances equal the balances recomputed from the entries, and the ledger says what the
statements in force say. Each submission is its own committed transaction, as over HTTP, so the database's
deferred checks run at every commit."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.core.errors import Conflict
from supervision.escrow import keys, ledger, queries, service
from supervision.escrow.validation import parse_json
from tests.conftest import TODAY, save_institution
from tests.escrow.helpers import NOW, idem, last_day, line, statement

PERIODS = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]

amounts = st.integers(min_value=1, max_value=10**9)
lines_strategy = st.lists(
    st.tuples(st.sampled_from(["receipt", "release", "refund"]), amounts, st.integers(1, 28)), max_size=6
)
step = st.fixed_dictionaries(
    {
        "period": st.sampled_from(PERIODS),
        "lines": lines_strategy,
        "join": st.booleans(),  # opening = the previous month's closing, or an arbitrary one (a break)
        "opening": st.integers(min_value=0, max_value=10**10),
        "liability": st.integers(min_value=0, max_value=10**10),
        "reserve": st.integers(min_value=0, max_value=10**9),
        "mode": st.sampled_from(["bank_custody", "risk_reserve"]),
        "bank_off_by": st.integers(min_value=-5, max_value=5),
    }
)


def build(s: dict[str, Any], heads: list[dict[str, Any]], n: int) -> dict[str, Any]:
    period = s["period"]
    previous = [h for h in heads if h["period"] < period]
    opening = previous[-1]["closing_balance_fen"] if s["join"] and previous else s["opening"]
    lines = [
        line(f"{period}-{min(day, int(last_day(period)[-2:])):02d}", type_, amount, ref=f"P{n}-{i}")
        for i, (type_, amount, day) in enumerate(s["lines"])
    ]
    outflow = sum(a for t, a, _ in s["lines"] if t != "receipt")
    inflow = sum(a for t, a, _ in s["lines"] if t == "receipt")
    if opening + inflow < outflow:  # a closing balance is never negative: top up with a receipt
        lines.append(line(f"{period}-01", "receipt", outflow - opening - inflow, ref=f"P{n}-top"))
    doc = statement(period, opening, lines, mode=s["mode"])
    doc["unearned_liability_fen"] = s["liability"]
    doc["reserve_balance_fen"] = s["reserve"]
    if s["mode"] == "bank_custody":
        doc["bank_reported_balance_fen"] = max(doc["closing_balance_fen"] + s["bank_off_by"], 0)
    current = next((h for h in heads if h["period"] == period), None)
    doc["amends"] = current["id"] if current else None
    return doc


def check(engine: Engine, institution_id: int) -> None:
    with Session(engine) as session:
        unbalanced = session.execute(
            text(
                "SELECT t.id FROM escrow_transaction t JOIN escrow_entry e ON e.transaction_id = t.id"
                " WHERE t.institution_id = :i GROUP BY t.id HAVING sum(e.amount_fen) <> 0 OR count(*) < 2"
            ),
            {"i": institution_id},
        ).all()
        assert unbalanced == []
        stored = ledger.balances(session, institution_id)
        assert all(b["balance_fen"] == b["recomputed_fen"] for b in stored), stored
        by_kind = {b["kind"]: b["balance_fen"] for b in stored}
        assert sum(by_kind.values()) == 0
        heads = queries.heads(session, institution_id)
        latest = heads[-1]
        assert by_kind["supervised_cash"] == latest["closing_balance_fen"]
        assert by_kind["unearned_liability"] == -latest["unearned_liability_fen"]
        assert by_kind["risk_reserve"] == (latest["reserve_balance_fen"] or 0)
        assert by_kind["received"] == -sum(h["receipts_fen"] for h in heads)
        assert by_kind["released"] == sum(h["released_fen"] for h in heads)
        assert by_kind["refunded"] == sum(h["refunds_fen"] for h in heads)
        assert len({h["period"] for h in heads}) == len(heads)


def verify(engine: Engine, institution_id: int) -> None:
    """Every invariant ``supervision escrow verify`` checks, for this institution."""
    with Session(engine) as session:
        mine = [p for p in ledger.verify(session).problems if f"institution {institution_id}" in p]
    assert mine == []


@settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_any_sequence_of_statements_and_corrections_keeps_the_ledger_exact(
    engine: Engine, steps: list[dict[str, Any]]
) -> None:
    with Session(engine) as session:
        doc = save_institution(session, now=NOW)
        key, _ = keys.issue(session, uscc=doc["uscc"], now=NOW, actor="test")
        session.commit()
    for n, s in enumerate(steps):
        with Session(engine) as session:
            holder = keys.holder_for_key(session, key, NOW)
            statement_doc = build(s, queries.heads(session, holder.institution_id), n)
            parsed = parse_json(json.dumps(statement_doc).encode(), TODAY)
            try:
                service.submit(
                    session,
                    holder=holder,
                    parsed=parsed,
                    idempotency_key=idem(),
                    now=NOW,
                    as_of=TODAY,
                    jurisdiction="440106",
                )
            except Conflict as exc:  # pragma: no cover - every step is valid by construction
                raise AssertionError(exc) from None
            session.commit()
        check(engine, holder.institution_id)
    verify(engine, holder.institution_id)
