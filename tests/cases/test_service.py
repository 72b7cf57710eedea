"""Decisions: checked whole, stored once, never changed; licence decisions move the licence status."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from supervision.cases import service as cases
from supervision.core.errors import Conflict, Invalid
from supervision.registry import service as registry
from tests.conftest import new_uscc, save_institution
from tests.lists.helpers import NOW, decide


def test_every_problem_is_listed_at_once(session: Session) -> None:
    doc = save_institution(session)
    with pytest.raises(Invalid) as err:
        cases.record_decision(
            session,
            cases.parse_decision(
                {
                    "uscc": doc["uscc"],
                    "kind": "warning",
                    "basis": ["NO-SUCH-RULE", "LIC-NONE", "LIC-NONE"],
                    "summary": "x",
                    "decided_on": "2027-01-01",
                    "deadline": "2027-02-01",
                    "until": "2027-03-01",
                    "lifts": "something",
                    "reference": "has space",
                }
            ),
            actor="test",
            officer="t",
            now=NOW,
        )
    locs = [p.loc for p in err.value.problems]
    assert {"basis", "decided_on", "deadline", "until", "lifts", "reference"} <= set(locs)
    assert any("NO-SUCH-RULE" in p.msg for p in err.value.problems)


def test_unknown_fields_and_wrong_kind_are_rejected() -> None:
    with pytest.raises(Invalid) as err:
        cases.parse_decision({"uscc": "x", "kind": "fine", "summary": "s", "colour": "red"})
    assert {p.loc for p in err.value.problems} >= {"kind", "colour"}


def test_unregistered_institution_is_a_problem(session: Session) -> None:
    with pytest.raises(Invalid) as err:
        decide(session, new_uscc(), "warning")
    assert [p.loc for p in err.value.problems] == ["uscc"]


def test_rectification_order_needs_a_deadline(session: Session) -> None:
    doc = save_institution(session)
    with pytest.raises(Invalid) as err:
        decide(session, doc["uscc"], "rectification_order", deadline=None)
    assert [p.loc for p in err.value.problems] == ["deadline"]


def test_decisions_are_immutable_in_the_database(session: Session) -> None:
    doc = save_institution(session)
    d = decide(session, doc["uscc"], "warning")
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE decision SET summary = 'changed' WHERE id = :i"), {"i": d.id})
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM decision WHERE id = :i"), {"i": d.id})
    assert cases.get_decision(session, d.id).summary == "测试决定"


def test_reference_is_unique_and_generated_when_omitted(session: Session) -> None:
    doc = save_institution(session)
    first = decide(session, doc["uscc"], "warning", reference="穗天教监〔2026〕T1号")
    assert first.reference == "穗天教监〔2026〕T1号"
    with pytest.raises(Conflict):
        decide(session, doc["uscc"], "warning", reference="穗天教监〔2026〕T1号")
    generated = decide(session, doc["uscc"], "warning")
    assert generated.reference == f"穗天教监〔2026〕{generated.id}号"


def test_suspension_and_its_lift_move_the_licence_and_write_audit(session: Session) -> None:
    doc = save_institution(session)
    suspend = decide(session, doc["uscc"], "suspend_licence", basis=["CONDUCT-REFUND"])
    assert registry.get(session, doc["uscc"])["licence"]["status"] == "suspended"
    with pytest.raises(Invalid, match="not valid"):
        decide(session, doc["uscc"], "suspend_licence")
    lift = decide(session, doc["uscc"], "lift", lifts=suspend.reference)
    assert lift.lifts == suspend.reference
    assert registry.get(session, doc["uscc"])["licence"]["status"] == "valid"
    assert cases.get_decision(session, suspend.id).lifted_by == lift.reference
    actions = session.execute(
        text("SELECT entity, action FROM audit_log WHERE entity_key IN (:a, :b, :u) ORDER BY id"),
        {"a": suspend.reference, "b": lift.reference, "u": doc["uscc"]},
    ).all()
    assert ("decision", "record") in actions and ("institution", "replace") in actions


def test_revocation_then_lift_restores(session: Session) -> None:
    doc = save_institution(session)
    revoke = decide(session, doc["uscc"], "revoke_licence")
    assert registry.get(session, doc["uscc"])["licence"]["status"] == "revoked"
    decide(session, doc["uscc"], "lift", lifts=revoke.reference)
    assert registry.get(session, doc["uscc"])["licence"]["status"] == "valid"


def test_lift_rules(session: Session) -> None:
    doc, other = save_institution(session), save_institution(session)
    order = decide(session, doc["uscc"], "rectification_order")
    with pytest.raises(Invalid, match="another institution"):
        decide(session, other["uscc"], "lift", lifts=order.reference)
    lift = decide(session, doc["uscc"], "lift", lifts=order.reference)
    with pytest.raises(Invalid, match="already lifted"):
        decide(session, doc["uscc"], "lift", lifts=order.reference)
    with pytest.raises(Invalid, match="cannot itself be lifted"):
        decide(session, doc["uscc"], "lift", lifts=lift.reference)


def test_licence_decision_without_licence_is_refused(session: Session) -> None:
    doc = save_institution(session, licence=None)
    with pytest.raises(Invalid, match="no licence"):
        decide(session, doc["uscc"], "suspend_licence")
    black = decide(session, doc["uscc"], "blacklist", basis=["LIC-NONE"], until="2027-11-29")
    assert black.until == dt.date(2027, 11, 29)
