"""Accepting statements against history, the ledger they post, and the database's own guards.

Each test runs in a transaction that is rolled back; deferred checks are forced with
``SET CONSTRAINTS ALL IMMEDIATE`` (they would otherwise run at a commit that never comes).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from rules.engine import Engine
from supervision.compliance import queries as compliance_queries
from supervision.compliance import service as compliance
from supervision.core import rulebook
from supervision.core.clock import FixedClock
from supervision.core.errors import Conflict, Invalid, NotFound, Unauthorized
from supervision.escrow import keys, ledger, queries, reconcile, service
from supervision.escrow.keys import KeyHolder
from supervision.escrow.validation import parse_json
from supervision.registry import queries as registry_queries
from tests.conftest import TODAY, save_institution
from tests.escrow.helpers import idem, line, statement

NOW = FixedClock.on(TODAY).now()
RAW_STATEMENT = """
INSERT INTO escrow_statement (institution_id, period, mode, opening_balance_fen, receipts_fen, released_fen,
  refunds_fen, closing_balance_fen, unearned_liability_fen, line_count, source, body_sha256, submitted_at,
  accepted_on, submitted_by, reconciliation, requirement)
VALUES (:i, :p, 'bank_custody', 0, :r, 0, 0, :c, 0, 0, 'json', '', now(), now(), 't', '{}', '{}')
"""


def holder_for(session: Session, **changes: Any) -> KeyHolder:
    doc = save_institution(session, now=NOW, **changes)
    key, _ = keys.issue(session, uscc=doc["uscc"], now=NOW, actor="test")
    return keys.holder_for_key(session, key, NOW)


def submit(
    session: Session, holder: KeyHolder, doc: dict[str, Any], key: str | None = None
) -> dict[str, Any]:
    parsed = parse_json(json.dumps(doc).encode(), TODAY)
    result = service.submit(
        session,
        holder=holder,
        parsed=parsed,
        idempotency_key=key or idem(),
        now=NOW,
        as_of=TODAY,
        jurisdiction="440106",
    )
    return result.body


def check_at_commit(session: Session) -> None:
    """Run the deferred constraint triggers now, as a commit would."""
    session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    session.execute(text("SET CONSTRAINTS ALL DEFERRED"))


def balances(session: Session, holder: KeyHolder) -> dict[str, int]:
    out = {}
    for b in ledger.balances(session, holder.institution_id):
        assert b["balance_fen"] == b["recomputed_fen"], b
        out[b["kind"]] = b["balance_fen"]
    return out


def institution_problems(session: Session, holder: KeyHolder) -> list[str]:
    return [p for p in ledger.verify(session).problems if f"institution {holder.institution_id}" in p]


def test_accepted_statements_post_a_balanced_ledger(session: Session) -> None:
    h = holder_for(session)
    sep = submit(session, h, statement("2026-09", 100000))
    octo = submit(session, h, statement("2026-10", sep["closing_balance_fen"]))
    check_at_commit(session)
    assert sep["status"] == octo["status"] == "accepted"
    assert octo["reconciliation"]["ok"] is True
    assert octo["reconciliation"]["opening"]["previous_statement"] == sep["id"]
    b = balances(session, h)
    assert b["supervised_cash"] == octo["closing_balance_fen"] == 100000 + 2 * 70000
    assert b["received"] == -280000 and b["released"] == 100000 and b["refunded"] == 40000
    assert b["brought_forward"] == -100000
    assert b["unearned_liability"] == -octo["unearned_liability_fen"]
    assert sum(b.values()) == 0
    assert institution_problems(session, h) == []
    lines = queries.lines(session, octo["id"], limit=10, offset=0)
    assert lines[0] == 3 and [ln["seq"] for ln in lines[1]] == [1, 2, 3]


def test_one_statement_per_period_and_corrections_supersede(session: Session) -> None:
    h = holder_for(session)
    first = submit(session, h, statement("2026-10", 0))
    with pytest.raises(Conflict) as exc:
        submit(session, h, statement("2026-10", 0))
    assert exc.value.code == "already_accepted" and f'amends": {first["id"]}' in exc.value.detail

    fix = statement("2026-10", 0, [line("2026-10-05", "receipt", 90000)], amends=first["id"])
    second = submit(session, h, fix)
    check_at_commit(session)
    old = service.view(session, h.institution_id, first["id"])
    assert old["status"] == "superseded" and old["superseded_by"] == second["id"]
    assert second["status"] == "accepted" and second["amends"] == first["id"]
    b = balances(session, h)
    assert b["supervised_cash"] == 90000 and b["released"] == 0 and b["refunded"] == 0
    _, txns = queries.transactions(session, h.institution_id, limit=100, offset=0)
    reversals = [t for t in txns if t["reverses_id"]]
    assert {t["kind"] for t in reversals} == {"receipts", "releases", "refunds", "liability"}
    assert min(t["id"] for t in reversals) > max(
        t["id"] for t in txns if t["statement_id"] == first["id"] and not t["reverses_id"]
    )
    assert institution_problems(session, h) == []

    with pytest.raises(Conflict) as exc:
        submit(session, h, statement("2026-10", 0, amends=first["id"]))
    assert exc.value.code == "already_superseded" and str(second["id"]) in exc.value.detail


def test_corrections_must_name_an_own_statement_of_the_same_period(session: Session) -> None:
    a, b = holder_for(session), holder_for(session)
    mine = submit(session, a, statement("2026-09", 0))
    theirs = submit(session, b, statement("2026-10", 0))
    with pytest.raises(Invalid) as exc:
        submit(session, a, statement("2026-10", 0, amends=theirs["id"]))
    assert exc.value.problems[0].msg == f"you have no statement {theirs['id']}"
    with pytest.raises(Invalid) as exc:
        submit(session, a, statement("2026-10", 0, amends=mine["id"]))
    assert "is for 2026-09, not 2026-10" in exc.value.problems[0].msg
    with pytest.raises(NotFound):
        service.view(session, a.institution_id, theirs["id"])


def test_a_late_earlier_statement_reposts_the_next_ones_carries(session: Session) -> None:
    h = holder_for(session)
    octo = submit(session, h, statement("2026-10", 70000))
    assert octo["reconciliation"]["opening"]["previous_statement"] is None
    sep = submit(session, h, statement("2026-09", 0))
    check_at_commit(session)
    assert sep["closing_balance_fen"] == 70000
    b = balances(session, h)
    assert b["supervised_cash"] == octo["closing_balance_fen"]
    assert b["brought_forward"] == 0  # October's 70,000 opening is now explained by September
    assert institution_problems(session, h) == []
    # and a correction of September that breaks the join shows up on October's carry
    submit(session, h, statement("2026-09", 0, [line("2026-09-02", "receipt", 1000)], amends=sep["id"]))
    check_at_commit(session)
    b = balances(session, h)
    assert b["supervised_cash"] == octo["closing_balance_fen"]
    assert b["brought_forward"] == -(70000 - 1000)
    assert institution_problems(session, h) == []


def test_reconciliation_findings_come_from_the_rule_engine(session: Session) -> None:
    h = holder_for(session)
    sep = submit(session, h, statement("2026-09", 0))
    doc = statement(
        "2026-10",
        sep["closing_balance_fen"] + 500,  # opening does not join September
        [line("2026-10-02", "receipt", 600000, ref="R-BIG", package_code="K9", lessons=80, months=4)],
        bank_reported_balance_fen=1,  # and the bank disagrees
    )
    doc["unearned_liability_fen"] = doc["closing_balance_fen"] * 2
    octo = submit(session, h, doc)
    r = octo["reconciliation"]
    assert r["ok"] is False
    assert r["bank"] == {
        "applies": True,
        "reported_fen": 1,
        "computed_fen": doc["closing_balance_fen"],
        "difference_fen": 1 - doc["closing_balance_fen"],
        "ok": False,
    }
    assert r["opening"]["difference_fen"] == 500 and r["opening"]["ok"] is False
    assert octo["requirement"]["required_fen"] == doc["unearned_liability_fen"]
    assert octo["requirement"]["shortfall_fen"] == doc["unearned_liability_fen"] - 1
    assert r["coverage"]["ok"] is False
    found = {(f["rule_id"], f["subject"]) for f in octo["findings"]}
    assert ("FEE-BALANCE-BREAK", "2026-10") in found
    assert ("FEE-ESCROW-SHORTFALL", "2026-10") in found
    assert ("FEE-PREPAY-CAP", "2026-10/R-BIG") in found
    cap = next(f for f in octo["findings"] if f["rule_id"] == "FEE-PREPAY-CAP")
    assert "80" in cap["message_zh"] and cap["trace"]["parameters"]
    # package findings belong to the registry, not to the statement's answer
    assert not any(f["subject"].startswith("C1/") for f in octo["findings"])


def test_the_requirement_follows_the_jurisdictions_effective_dated_parameters(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlay = {
        "level": "440106",
        "parameters": {
            "escrow.coverage_pct": [
                {"value": 50, "effective_from": dt.date(2026, 11, 1), "citation": "测试"}
            ],
            "escrow.reserve_min_fen": [
                {"value": 300000, "effective_from": dt.date(2026, 11, 1), "citation": "测试"}
            ],
        },
    }
    engine = Engine.load("440106", overlays=[overlay])
    monkeypatch.setattr(rulebook, "context", lambda jurisdiction, as_of: engine.at(as_of))
    h = holder_for(session)
    doc = statement("2026-10", 0, mode="risk_reserve", reserve_balance_fen=200000)
    doc["unearned_liability_fen"] = 500001
    answer = submit(session, h, doc)
    req = answer["requirement"]
    assert req["coverage_pct"] == 50 and req["reserve_min_fen"] == 300000
    assert req["required_fen"] == 300000  # max(ceil(500001 × 50 / 100) = 250001, 300000)
    assert req["shortfall_fen"] == 100000
    assert {p["name"] for p in req["parameters"]} == {"escrow.coverage_pct", "escrow.reserve_min_fen"}
    assert all(p["effective_from"] == "2026-11-01" for p in req["parameters"])
    # before the overlay takes effect the national 100 % applies
    earlier = (
        Engine.load("440106")
        .at(dt.date(2026, 10, 31))
        .reserve_requirement(reconcile.statement_document({**doc, "id": 0}, ()))
    )
    assert earlier["coverage_pct"] == 100 and earlier["required_fen"] == 500001


def test_idempotency_replays_the_first_answer_and_refuses_a_different_body(session: Session) -> None:
    h = holder_for(session)
    doc = statement("2026-10", 0)
    key = idem()
    first = service.submit(
        session,
        holder=h,
        parsed=parse_json(json.dumps(doc).encode(), TODAY),
        idempotency_key=key,
        now=NOW,
        as_of=TODAY,
        jurisdiction="440106",
    )
    again = service.submit(
        session,
        holder=h,
        parsed=parse_json(json.dumps(doc, indent=1).encode(), TODAY),
        idempotency_key=key,
        now=NOW,
        as_of=TODAY,
        jurisdiction="440106",
    )
    assert again.replayed and not first.replayed
    assert again.body == first.body and again.status == 201
    other = statement("2026-11", 0, [line("2026-11-02", "receipt", 5)])
    with pytest.raises(Conflict) as exc:
        submit(session, h, other, key)
    assert exc.value.code == "idempotency_key_reused"
    total, _ = queries.statements(session, h.institution_id, limit=10, offset=0)
    assert total == 1


def test_statements_lines_and_entries_refuse_update_and_delete(session: Session) -> None:
    h = holder_for(session)
    answer = submit(session, h, statement("2026-10", 0))
    check_at_commit(session)  # no pending trigger events, so TRUNCATE reaches its trigger
    for sql in (
        f"UPDATE escrow_statement SET closing_balance_fen = 0 WHERE id = {answer['id']}",
        f"DELETE FROM escrow_statement_line WHERE statement_id = {answer['id']}",
        "UPDATE escrow_entry SET amount_fen = amount_fen + 1",
        "DELETE FROM escrow_transaction",
        "TRUNCATE escrow_entry CASCADE",
    ):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(sql))


def test_the_database_refuses_an_unbalanced_transaction_and_a_tampered_balance(session: Session) -> None:
    h = holder_for(session)
    answer = submit(session, h, statement("2026-10", 0))
    check_at_commit(session)
    accounts = ledger.ensure_accounts(session, h.institution_id)
    with pytest.raises(DBAPIError, match="does not balance"), session.begin_nested():
        session.execute(
            text(
                "WITH t AS (INSERT INTO escrow_transaction"
                " (institution_id, statement_id, kind, posted_at, memo)"
                " VALUES (:i, :s, 'receipts', now(), 'one-sided') RETURNING id)"
                " INSERT INTO escrow_entry (transaction_id, institution_id, account_id, amount_fen)"
                " SELECT id, :i, :a, 100 FROM t"
            ),
            {"i": h.institution_id, "s": answer["id"], "a": accounts["supervised_cash"]},
        )
        session.execute(
            text("UPDATE escrow_account SET balance_fen = balance_fen + 100 WHERE id = :a"),
            {"a": accounts["supervised_cash"]},
        )
        check_at_commit(session)
    with pytest.raises(DBAPIError, match="stored balance"), session.begin_nested():
        session.execute(
            text("UPDATE escrow_account SET balance_fen = balance_fen + 1 WHERE id = :a"),
            {"a": accounts["received"]},
        )
        check_at_commit(session)
    with pytest.raises(DBAPIError, match="closing"), session.begin_nested():
        session.execute(
            text(RAW_STATEMENT),
            {"i": h.institution_id, "p": "2026-08", "r": 10, "c": 11},
        )


def test_lines_must_belong_to_a_stored_statement(session: Session) -> None:
    h = holder_for(session)
    answer = submit(session, h, statement("2026-10", 0))
    insert = (
        "INSERT INTO escrow_statement_line (statement_id, seq, date, type, amount_fen, ref)"
        " VALUES (:s, 99, '2026-10-01', 'receipt', 1, 'LATE')"
    )
    with pytest.raises(DBAPIError, match="statement -1 does not exist"), session.begin_nested():
        session.execute(text(insert), {"s": -1})
    session.execute(text(insert), {"s": answer["id"]})  # a real statement is fine (for the trigger)


def test_a_second_original_for_a_period_is_refused_by_the_database_too(session: Session) -> None:
    h = holder_for(session)
    submit(session, h, statement("2026-10", 0))
    with pytest.raises(DBAPIError, match="uq_escrow_statement_original"), session.begin_nested():
        session.execute(
            text(RAW_STATEMENT),
            {"i": h.institution_id, "p": "2026-10", "r": 0, "c": 0},
        )


def test_acceptance_and_keys_are_audited_without_secrets(session: Session) -> None:
    doc = save_institution(session, now=NOW)
    key, row = keys.issue(session, uscc=doc["uscc"], now=NOW, actor="staff:someone", days=30)
    h = keys.holder_for_key(session, key, NOW)
    answer = submit(session, h, statement("2026-10", 0))
    keys.revoke(session, public_id=row.public_id, now=NOW, actor="staff:someone")
    rows = session.execute(
        text(
            "SELECT action, entity, entity_key, actor, after::text AS after FROM audit_log"
            " WHERE (entity, entity_key) IN (('institution_key', :k), ('escrow_statement', :s)) ORDER BY id"
        ),
        {"k": row.public_id, "s": str(answer["id"])},
    ).all()
    assert [(r.action, r.entity) for r in rows] == [
        ("issue", "institution_key"),
        ("accept", "escrow_statement"),
        ("revoke", "institution_key"),
    ]
    assert rows[1].actor == f"institution:{doc['uscc']}:key:{row.public_id}"
    assert all(key not in r.after and key.split("_", 2)[2] not in r.after for r in rows)
    stored = session.execute(text("SELECT secret_sha256 FROM institution_key WHERE id = :i"), {"i": row.id})
    assert stored.scalar_one() != key and len(key) > 40


def test_keys_expire_and_revoke_and_wrong_secrets_are_refused(session: Session) -> None:
    doc = save_institution(session, now=NOW)
    key, row = keys.issue(session, uscc=doc["uscc"], now=NOW, actor="test", days=1)
    assert keys.holder_for_key(session, key, NOW).uscc == doc["uscc"]
    for bad in (key[:-1] + ("A" if key[-1] != "A" else "B"), "sk_nothing", "", key.replace("sk_", "pk_")):
        with pytest.raises(Unauthorized):
            keys.holder_for_key(session, bad, NOW)
    with pytest.raises(Unauthorized):
        keys.holder_for_key(session, key, NOW + dt.timedelta(days=1))
    keys.revoke(session, public_id=row.public_id, now=NOW, actor="test")
    with pytest.raises(Unauthorized):
        keys.holder_for_key(session, key, NOW)
    with pytest.raises(NotFound):
        keys.issue(session, uscc="91440106MA00000000", now=NOW, actor="test")


def test_the_answer_holds_this_statements_findings_not_other_months(session: Session) -> None:
    h = holder_for(session)
    july = submit(session, h, statement("2026-07", 0))
    august = submit(session, h, statement("2026-08", july["closing_balance_fen"]))
    assert august["reconciliation"]["ok"] is True
    assert not any(f["rule_id"] == "FEE-BALANCE-BREAK" for f in august["findings"])
    # correcting July so that August no longer joins it: the break is reported with the correction
    fix = statement("2026-07", 0, [line("2026-07-02", "receipt", 7)], amends=july["id"])
    fixed = submit(session, h, fix)
    found = {(f["rule_id"], f["subject"]) for f in fixed["findings"]}
    assert ("FEE-BALANCE-BREAK", "2026-08") in found
    # and October's answer is about October: August's break stays with the institution, not in it
    october = submit(session, h, statement("2026-10", august["closing_balance_fen"]))
    assert all(f["subject"] != "2026-08" for f in october["findings"])
    # ... but the months still owed are named in every answer (FEE-STATEMENT-MISSING from the first one).
    assert ("FEE-STATEMENT-MISSING", "2026-09") in {(f["rule_id"], f["subject"]) for f in october["findings"]}
    assert {f["rule_id"] for f in october["findings"]} <= {
        "FEE-STATEMENT-MISSING",
        "FEE-NO-ESCROW",
        "RISK-COVERAGE-THIN",
        "RISK-LARGE-RELEASE",
    }


def test_the_acceptance_evaluates_the_lines_it_holds_exactly_as_read_back(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-evaluation inside an acceptance takes the accepted statement's lines from memory (they are not
    read back); a fresh re-evaluation reading everything from the database then has nothing to open, refresh
    or resolve, and a full evaluation of the whole statements as submitted finds the same."""
    h = holder_for(session)
    real = compliance_queries.statements_for
    known: list[set[int]] = []

    def spy(s: Session, ids: Any, known_lines: Any = None, as_of: Any = None) -> Any:
        known.append(set(known_lines or ()))
        return real(s, ids, known_lines, as_of)

    monkeypatch.setattr(compliance_queries, "statements_for", spy)
    over = {"package_code": "K9", "lessons": 80, "months": 4}
    sep_lines = [
        line("2026-09-02", "receipt", 600000, ref="R-OVER", **over),
        line("2026-09-03", "receipt", 90000, package_code="K1", lessons=20, months=2),
        line("2026-09-20", "release", 700000, ref="X-BIG", **over),  # over 10% of the opening balance
        line("2026-09-21", "refund", 550000, ref="F-BIG", **over),
    ]
    submitted: dict[str, dict[str, Any]] = {}

    def accept(doc: dict[str, Any]) -> dict[str, Any]:
        answer = submit(session, h, doc)
        assert known[-1] == {answer["id"]}
        submitted[doc["period"]] = {**doc, "id": answer["id"]}
        after = compliance_queries.open_findings_of(session, h.institution_id)
        fresh = compliance.reevaluate_institution(session, h.institution_id, TODAY, now=NOW)
        assert known[-1] == set()
        assert fresh == after
        counts = session.execute(text("SELECT counts FROM rule_run ORDER BY id DESC LIMIT 1")).scalar_one()
        assert counts["totals"]["produced"] == len(after)
        assert {k: counts["totals"][k] for k in ("opened", "refreshed", "resolved")} == dict.fromkeys(
            ("opened", "refreshed", "resolved"), 0
        )
        doc_now = registry_queries.documents_by_id(session, [h.institution_id])[h.institution_id]
        whole = rulebook.context("440106", TODAY).evaluate(doc_now, list(submitted.values()))
        assert {(f.rule_id, f.subject, json.dumps(f.trace, sort_keys=True)) for f in whole.findings} == {
            (f["rule_id"], f["subject"], json.dumps(f["trace"], sort_keys=True)) for f in after
        }
        return answer

    sep = accept(statement("2026-09", 2_000_000, sep_lines))
    assert ("FEE-PREPAY-CAP", "2026-09/R-OVER") in {(f["rule_id"], f["subject"]) for f in sep["findings"]}
    # The latest statement's release and refund lines are read (RISK-LARGE-RELEASE), not just its receipts.
    large = {f["subject"] for f in sep["findings"] if f["rule_id"] == "RISK-LARGE-RELEASE"}
    assert large == {"2026-09/X-BIG", "2026-09/F-BIG"}
    octo = statement("2026-10", sep["closing_balance_fen"] + 1, bank_reported_balance_fen=5)
    accept(octo)
    accept(statement("2026-09", 2_000_000, sep_lines[1:], amends=sep["id"]))
    accept(statement("2026-08", 0, [line("2026-08-30", "receipt", 1_000_000, ref="R-AUG", **over)]))


def test_a_conflict_at_the_last_flush_names_no_database_detail(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A constraint the checks should have caught is a 409 in words for the institution; what the database
    said (constraint names, values) goes to the log only."""
    from sqlalchemy.exc import IntegrityError

    holder = holder_for(session)
    store_answer, flush = queries.store_answer, session.flush
    stored: list[bool] = []

    def storing(*args: Any, **kwargs: Any) -> None:
        store_answer(*args, **kwargs)
        stored.append(True)

    def failing_flush(*args: Any, **kwargs: Any) -> None:
        if stored:
            secret = (
                'duplicate key value violates unique constraint "uq_escrow_statement_secret" (42, 2026-10)'
            )
            raise IntegrityError("INSERT INTO escrow_statement ...", {}, Exception(secret))
        flush(*args, **kwargs)

    monkeypatch.setattr(queries, "store_answer", storing)
    monkeypatch.setattr(session, "flush", failing_flush)
    with pytest.raises(Conflict) as caught:
        submit(session, holder, statement("2026-10"))
    assert "uq_escrow" not in caught.value.detail and "INSERT" not in caught.value.detail
