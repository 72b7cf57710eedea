"""The complaints inbox: what staff see, every triage path once, grid refusals, matching later, and what the
complainant sees in each state."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from supervision.accounts.permissions import Actor
from supervision.cases import casework, inbox, queries
from supervision.cases.schemas import CaseOpenIn, ComplaintIn, ProposalIn, TriageRejectIn
from supervision.cases.service import file_complaint
from supervision.core.errors import Conflict, Forbidden, Invalid
from tests.cases.conftest import NOW, institution
from tests.conftest import TODAY, new_uscc

J = "440106"
CONTACT = "13800138000 李女士"


def complain(
    session: Session, uscc: str | None = None, name: str | None = None, contact: str | None = CONTACT
) -> str:
    return file_complaint(
        session,
        ComplaintIn(
            uscc=uscc,
            institution_name=name,
            text="机构拒绝退还未上课时的费用，多次沟通无果。",
            contact=contact,
        ),
        now=NOW,
        jurisdiction=J,
    )


def row(session: Session, reference: str, actor: Actor, today: dt.date = TODAY) -> Any:
    return inbox.complaint_row(session, reference, actor, today=today)


def audit_actions(session: Session, reference: str) -> list[str]:
    rows = session.execute(
        text("SELECT action FROM audit_log WHERE entity = 'complaint' AND entity_key = :k ORDER BY id"),
        {"k": reference},
    )
    return [r.action for r in rows]


# ------------------------------------------------------------------------------------------ the inbox


def test_staff_see_every_complaint_with_its_institution_contact_and_deadline(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    matched = complain(session, uscc)
    unmatched = complain(session, name="不存在的培训班", contact=None)
    total, rows = inbox.inbox(session, people["outsider"], limit=200, offset=0, today=TODAY)
    by_ref = {r.reference: r for r in rows}
    assert total >= 2 and {matched, unmatched} <= set(by_ref)
    m = by_ref[matched]
    assert m.matched_by == "uscc" and m.grid == "石牌" and m.registered_name == "广州市天河区示例培训中心"
    assert m.has_contact and m.contact == CONTACT and m.status == "new" and m.received_on == TODAY
    assert m.triage_due > TODAY and not m.overdue
    assert m.can_triage is False  # the outsider reads it but works in 五山
    u = by_ref[unmatched]
    assert u.matched_by is None and u.grid is None and not u.has_contact and u.contact is None
    assert u.can_triage is True  # any officer may triage an unmatched complaint
    # the auditor reads everything, triages nothing
    assert row(session, matched, people["auditor"]).can_triage is False


def test_overdue_after_the_triage_deadline_and_the_filters(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    reference = complain(session, uscc)
    due = row(session, reference, people["officer"]).triage_due
    assert row(session, reference, people["officer"], today=due).overdue is False
    late = due + dt.timedelta(days=1)
    assert row(session, reference, people["officer"], today=late).overdue is True
    total, rows = inbox.inbox(
        session, people["officer"], overdue=True, uscc=uscc, limit=10, offset=0, today=late
    )
    assert total == 1 and rows[0].reference == reference
    assert (
        inbox.inbox(session, people["officer"], overdue=False, uscc=uscc, limit=10, offset=0, today=late)[0]
        == 0
    )
    assert (
        inbox.inbox(session, people["officer"], status="rejected", uscc=uscc, limit=10, offset=0, today=late)[
            0
        ]
        == 0
    )
    assert (
        inbox.inbox(session, people["officer"], grid="五山", uscc=uscc, limit=10, offset=0, today=late)[0]
        == 0
    )
    assert (
        inbox.inbox(session, people["officer"], grid="石牌", uscc=uscc, limit=10, offset=0, today=late)[0]
        == 1
    )
    with pytest.raises(Invalid) as err:
        inbox.inbox(session, people["officer"], status="done", limit=0, offset=-1, today=TODAY)
    assert {p.loc for p in err.value.problems} == {"status", "limit", "offset"}


def test_a_complaint_naming_a_registered_institution_by_name_is_suggested(
    session: Session, people: dict[str, Actor]
) -> None:
    name = f"天河名称匹配培训中心{new_uscc()[-6:]}"
    uscc = institution(session, name=name)
    reference = complain(session, name=name)
    r = row(session, reference, people["officer"])
    assert r.matched_by == "name" and r.suggested_uscc == uscc and r.grid is None


# ------------------------------------------------------------------------------------------ triage


def test_triage_by_opening_a_case(session: Session, people: dict[str, Actor]) -> None:
    uscc = institution(session)
    reference = complain(session, uscc)
    case = inbox.triage_open_case(
        session,
        reference,
        people["officer"],
        basis=["CONDUCT-REFUND"],
        summary="举报拒绝退费",
        now=NOW,
        jurisdiction=J,
    )
    assert case.source == "complaint" and case.uscc == uscc and case.state == "new"
    r = row(session, reference, people["officer"])
    assert (
        r.status == "opened" and r.case_reference == case.reference and r.triaged_by == people["officer"].name
    )
    notes = [e.note for e in queries.events_of_case(session, case.id or 0) if e.kind == "note"]
    assert any(reference in (n or "") for n in notes)
    assert audit_actions(session, reference) == ["triage:opened"]


def test_triage_happens_once(session: Session, people: dict[str, Actor]) -> None:
    reference = complain(session, institution(session))
    inbox.triage_reject(session, reference, "已转12315处理（消费纠纷）", people["officer"], now=NOW)
    with pytest.raises(Conflict, match="already rejected") as err:
        inbox.triage_open_case(
            session, reference, people["supervisor"], basis=[], summary="x", now=NOW, jurisdiction=J
        )
    assert err.value.status == 409
    with pytest.raises(Conflict, match="already rejected"):
        inbox.triage_reject(session, reference, "不属于本局职责", people["officer"], now=NOW)
    assert row(session, reference, people["officer"]).can_triage is False


def test_triage_by_attaching_to_an_open_case_of_the_same_institution(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    case = casework.open_case(
        session,
        CaseOpenIn(uscc=uscc, basis=["CONDUCT-REFUND"], summary="退费纠纷"),
        people["officer"],
        now=NOW,
        jurisdiction=J,
    )
    other = casework.open_case(
        session,
        CaseOpenIn(uscc=institution(session), basis=["CONDUCT-REFUND"], summary="另一机构"),
        people["officer"],
        now=NOW,
        jurisdiction=J,
    )
    reference = complain(session, uscc)
    with pytest.raises(Invalid, match="cannot join"):
        inbox.triage_attach(session, reference, other.reference, people["officer"], now=NOW)
    attached = inbox.triage_attach(session, reference, case.reference, people["officer"], now=NOW)
    assert attached.id == case.id
    r = row(session, reference, people["officer"])
    assert r.status == "attached" and r.case_reference == case.reference
    events = queries.events_of_case(session, case.id or 0)
    assert events[-1].kind == "note" and reference in (events[-1].note or "")
    assert audit_actions(session, reference) == ["triage:attached"]


def test_a_complaint_cannot_join_a_finished_case(session: Session, people: dict[str, Actor]) -> None:
    uscc = institution(session)
    case = casework.open_case(
        session, CaseOpenIn(uscc=uscc, basis=[], summary="x"), people["officer"], now=NOW, jurisdiction=J
    )
    session.execute(text("UPDATE enforcement_case SET state = 'closed' WHERE id = :i"), {"i": case.id})
    session.refresh(case)
    reference = complain(session, uscc)
    with pytest.raises(Invalid, match="cannot join") as err:
        inbox.triage_attach(session, reference, case.reference, people["officer"], now=NOW)
    assert "not open" in err.value.problems[0].msg
    assert row(session, reference, people["officer"]).status == "new"


def test_triage_by_rejecting_with_a_reason(session: Session, people: dict[str, Actor]) -> None:
    reference = complain(session, institution(session))
    with pytest.raises(Invalid):
        inbox.triage_reject(session, reference, " ", people["officer"], now=NOW)
    out = inbox.triage(
        session,
        reference,
        TriageRejectIn(action="reject", reason="不属于本局职责"),
        people["officer"],
        now=NOW,
        jurisdiction=J,
    )
    assert out.status == "rejected" and out.reason == "不属于本局职责" and out.case_reference is None
    assert audit_actions(session, reference) == ["triage:rejected"]


def test_grid_refusals(session: Session, people: dict[str, Actor]) -> None:
    reference = complain(session, institution(session))
    for who in ("outsider", "admin", "auditor"):
        with pytest.raises(Forbidden):
            inbox.triage_reject(session, reference, "不属于本局职责", people[who], now=NOW)
        with pytest.raises(Forbidden):
            inbox.triage_open_case(
                session, reference, people[who], basis=[], summary="x", now=NOW, jurisdiction=J
            )
    assert row(session, reference, people["officer"]).status == "new"
    # a supervisor triages in any grid
    inbox.triage_reject(session, reference, "不属于本局职责", people["supervisor"], now=NOW)
    # an unmatched complaint: any officer, never an administrator
    loose = complain(session, name="某无证培训点")
    with pytest.raises(Forbidden):
        inbox.triage_reject(session, loose, "不属于本局职责", people["admin"], now=NOW)
    inbox.triage_reject(session, loose, "举报内容不具体，无法核查", people["outsider"], now=NOW)


def test_an_unmatched_complaint_opens_a_case_about_the_operator(
    session: Session, people: dict[str, Actor]
) -> None:
    reference = complain(session, name="某无证培训点")
    with pytest.raises(Invalid) as err:
        inbox.triage_open_case(
            session,
            reference,
            people["officer"],
            basis=["LIC-NONE"],
            summary="无证办学",
            now=NOW,
            jurisdiction=J,
        )
    assert err.value.problems[0].loc == "operator_address"
    with pytest.raises(Forbidden):  # the operator's grid is not one of the outsider's
        inbox.triage_open_case(
            session,
            reference,
            people["outsider"],
            basis=["LIC-NONE"],
            summary="无证办学",
            now=NOW,
            jurisdiction=J,
            operator_address="天河区某小区3栋",
            grid="石牌",
        )
    case = inbox.triage_open_case(
        session,
        reference,
        people["officer"],
        basis=["LIC-NONE"],
        summary="无证办学",
        now=NOW,
        jurisdiction=J,
        operator_address="天河区某小区3栋",
        grid="石牌",
    )
    assert case.uscc is None and case.operator_address == "天河区某小区3栋" and case.grid == "石牌"
    assert row(session, reference, people["officer"]).status == "opened"


# ------------------------------------------------------------------------------------------ matching


def test_matching_later_links_the_institution_and_never_the_words(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    reference = complain(session, name="示例培训")
    before = queries.complaint(session, reference)
    assert before is not None
    with pytest.raises(Invalid):
        inbox.match(session, reference, new_uscc(), people["officer"], now=NOW)
    with pytest.raises(Forbidden):  # the institution is in 石牌
        inbox.match(session, reference, uscc, people["outsider"], now=NOW)
    inbox.match(session, reference, uscc.lower(), people["officer"], now=NOW)
    r = row(session, reference, people["officer"])
    assert (r.uscc, r.grid, r.institution_name, r.matched_by) == (
        uscc,
        "石牌",
        "广州市天河区示例培训中心",
        "uscc",
    )
    assert r.text == before["text"] and r.contact == before["contact"]
    with pytest.raises(Conflict, match="already matched"):
        inbox.match(session, reference, uscc, people["officer"], now=NOW)
    assert audit_actions(session, reference) == ["match"]
    # now matched, it is the 石牌 officers' to triage
    with pytest.raises(Forbidden):
        inbox.triage_reject(session, reference, "不属于本局职责", people["outsider"], now=NOW)
    with pytest.raises(DBAPIError, match="never altered"), session.begin_nested():
        session.execute(text("UPDATE complaint SET text = 'changed' WHERE reference = :r"), {"r": reference})


# ------------------------------------------------------------------------------------------ the complainant


def _assert_private(view: dict[str, Any], people: dict[str, Actor]) -> None:
    dumped = json.dumps(view, ensure_ascii=False)
    assert CONTACT not in dumped and "13800138000" not in dumped
    for actor in people.values():
        assert actor.username not in dumped
    assert "staff:" not in dumped and "system:" not in dumped
    assert set(view) == {
        "reference",
        "received_on",
        "institution_name",
        "status",
        "status_zh",
        "status_en",
        "outcome_zh",
        "outcome_en",
    }


def test_the_complainant_sees_received_then_being_handled_then_the_decision(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    reference = complain(session, uscc)
    view = inbox.complainant_view(session, reference)
    assert (
        view["status"] == "received"
        and view["status_zh"] == "已收到，等待处理"
        and view["outcome_zh"] is None
    )
    _assert_private(view, people)

    case = inbox.triage_open_case(
        session,
        reference,
        people["officer"],
        basis=["CONDUCT-REFUND"],
        summary="内部：张三称机构负责人态度恶劣",
        now=NOW,
        jurisdiction=J,
    )
    view = inbox.complainant_view(session, reference)
    assert view["status"] == "being_handled" and view["outcome_zh"] is None
    _assert_private(view, people)
    assert "张三" not in json.dumps(view, ensure_ascii=False)

    officer = people["officer"]
    casework.assign(
        session, case.reference, officer.username, people["supervisor"], version=case.version, now=NOW
    )
    casework.start(session, case.reference, officer, version=case.version, now=NOW)
    casework.propose(
        session,
        case.reference,
        ProposalIn(kind="warning", basis=["CONDUCT-REFUND"], summary="拒不退费，予以警告"),
        officer,
        version=case.version,
        now=NOW,
    )
    casework.approve(
        session, case.reference, people["officer2"], version=case.version, now=NOW, jurisdiction=J
    )
    assert inbox.complainant_view(session, reference)["status"] == "being_handled"  # decided, not closed yet
    casework.close(session, case.reference, None, officer, version=case.version, now=NOW, jurisdiction=J)
    view = inbox.complainant_view(session, reference)
    assert view["status"] == "concluded" and view["status_en"] == "Concluded"
    assert "警告" in view["outcome_zh"] and "拒不退费，予以警告" in view["outcome_zh"]
    assert view["outcome_en"].startswith("A decision was made (Warning)")
    _assert_private(view, people)
    assert "张三" not in json.dumps(view, ensure_ascii=False)


def test_the_complainant_sees_the_rejection_reason(session: Session, people: dict[str, Actor]) -> None:
    reference = complain(session, institution(session))
    inbox.triage_reject(session, reference, "已转12315处理（消费纠纷）", people["officer"], now=NOW)
    view = inbox.complainant_view(session, reference)
    assert view["status"] == "concluded" and view["outcome_zh"] == "不予受理：已转12315处理（消费纠纷）"
    _assert_private(view, people)


def test_the_complainant_of_a_dismissed_case_sees_plain_words_not_the_internal_reason(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    case = casework.open_case(
        session, CaseOpenIn(uscc=uscc, basis=[], summary="x"), people["officer"], now=NOW, jurisdiction=J
    )
    reference = complain(session, uscc)
    inbox.triage_attach(session, reference, case.reference, people["officer"], now=NOW)
    casework.start(session, case.reference, people["supervisor"], version=case.version, now=NOW)
    casework.dismiss(
        session,
        case.reference,
        "内部备注：王科长认为证据不足",
        people["supervisor"],
        version=case.version,
        now=NOW,
    )
    view = inbox.complainant_view(session, reference)
    assert view["status"] == "concluded" and "未作出行政处罚" in view["outcome_zh"]
    assert "王科长" not in json.dumps(view, ensure_ascii=False)
    _assert_private(view, people)


def test_a_merged_case_is_followed_into_the_case_it_joined(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    first = casework.open_case(
        session, CaseOpenIn(uscc=uscc, basis=[], summary="a"), people["officer"], now=NOW, jurisdiction=J
    )
    second = casework.open_case(
        session, CaseOpenIn(uscc=uscc, basis=[], summary="b"), people["officer"], now=NOW, jurisdiction=J
    )
    reference = complain(session, uscc)
    inbox.triage_attach(session, reference, first.reference, people["officer"], now=NOW)
    casework.merge(
        session,
        first.reference,
        second.reference,
        "同一机构",
        people["supervisor"],
        version=first.version,
        now=NOW,
    )
    assert inbox.complainant_view(session, reference)["status"] == "being_handled"
