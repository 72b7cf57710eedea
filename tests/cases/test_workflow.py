"""The case state machine: every allowed move works, every other is refused; the two-person rule; the right
to be heard; the rectification follow-up; two officers at once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.accounts.permissions import Actor
from supervision.cases import casework, queries
from supervision.cases.models import CASE_STATES, Case
from supervision.cases.schemas import CaseOpenIn, ProposalIn
from supervision.cases.workflow import TRANSITIONS, transition
from supervision.core.clock import FixedClock
from supervision.core.errors import Conflict, Forbidden, Invalid
from tests.cases.conftest import NOW, institution, user
from tests.conftest import TODAY

J = "440106"


def opened(session: Session, actor: Actor, uscc: str, basis: tuple[str, ...] = ("LIC-EXPIRED",)) -> Case:
    return casework.open_case(
        session,
        CaseOpenIn(uscc=uscc, basis=list(basis), summary="执照过期仍在经营"),
        actor,
        now=NOW,
        jurisdiction=J,
    )


def investigating(session: Session, people: dict[str, Actor]) -> Case:
    case = opened(session, people["officer"], institution(session))
    casework.assign(
        session,
        case.reference,
        people["officer"].username,
        people["supervisor"],
        version=case.version,
        now=NOW,
    )
    casework.start(session, case.reference, people["officer"], version=case.version, now=NOW)
    return case


def test_a_warning_is_proposed_by_one_and_approved_by_another(
    session: Session, people: dict[str, Actor]
) -> None:
    case = investigating(session, people)
    casework.propose(
        session,
        case.reference,
        ProposalIn(kind="warning", basis=["LIC-EXPIRED"], summary="警告"),
        people["officer"],
        version=case.version,
        now=NOW,
    )
    assert case.state == "proposed"
    with pytest.raises(Forbidden, match="two-person"):
        casework.approve(
            session, case.reference, people["officer"], version=case.version, now=NOW, jurisdiction=J
        )
    with pytest.raises(Forbidden):
        casework.approve(
            session, case.reference, people["admin"], version=case.version, now=NOW, jurisdiction=J
        )
    proposal = casework.approve(
        session, case.reference, people["officer2"], version=case.version, now=NOW, jurisdiction=J
    )
    assert (
        case.state == "decided" and proposal.status == "approved" and case.decision_id == proposal.decision_id
    )
    decision = queries.by_id(session, case.decision_id or 0)
    assert decision is not None and decision["kind"] == "warning"
    casework.close(
        session, case.reference, None, people["officer"], version=case.version, now=NOW, jurisdiction=J
    )
    assert case.state == "closed" and case.outcome == "decided"
    events = [(e.from_state, e.to_state) for e in queries.events_of_case(session, case.id or 0)]
    assert events == [
        (None, "new"),
        ("new", "assigned"),
        ("assigned", "investigating"),
        ("investigating", "proposed"),
        ("proposed", "decided"),
        ("decided", "closed"),
    ]


def test_a_blacklisting_needs_a_supervisor_a_notice_and_the_end_of_the_statement_period(
    session: Session, people: dict[str, Actor]
) -> None:
    case = investigating(session, people)
    casework.propose(
        session,
        case.reference,
        ProposalIn(kind="blacklist", basis=["LIC-EXPIRED"], summary="列入黑名单"),
        people["officer"],
        version=case.version,
        now=NOW,
    )
    with pytest.raises(Forbidden, match="supervisor"):
        casework.approve(
            session, case.reference, people["officer2"], version=case.version, now=NOW, jurisdiction=J
        )
    proposal = casework.approve(
        session, case.reference, people["supervisor"], version=case.version, now=NOW, jurisdiction=J
    )
    assert case.state == "notified" and proposal.decision_id is None
    assert proposal.served_on == TODAY and proposal.statement_due is not None
    assert proposal.statement_due > TODAY + dt.timedelta(days=4)  # five working days
    assert queries.search(session, uscc=case.uscc, kind="blacklist", limit=10, offset=0)[0] == 0
    casework.state_case(
        session, case.uscc or "", proposal.id or 0, statement="我们已经续期", hearing=False, now=NOW
    )
    with pytest.raises(Invalid) as err:
        casework.decide(session, case.reference, people["officer"], version=case.version, now=NOW)
    assert {p.loc for p in err.value.problems} == {"statement_due", "answer"}
    casework.answer_statement(session, case.reference, "未提供续期证明，不予采纳", people["officer"], now=NOW)
    later = FixedClock.on(proposal.statement_due + dt.timedelta(days=1)).now()
    casework.decide(session, case.reference, people["officer"], version=case.version, now=later)
    assert case.state == "decided"
    recorded = queries.by_id(session, case.decision_id or 0)
    assert recorded is not None and recorded["approved_by"] == people["supervisor"].name
    assert queries.search(session, uscc=case.uscc, kind="blacklist", limit=10, offset=0)[0] == 1


def test_a_rectification_is_followed_up_and_its_lift_proposed(
    session: Session, people: dict[str, Actor]
) -> None:
    case = investigating(session, people)
    deadline = TODAY + dt.timedelta(days=7)
    casework.propose(
        session,
        case.reference,
        ProposalIn(kind="rectification_order", basis=["LIC-EXPIRED"], summary="限期整改", deadline=deadline),
        people["officer"],
        version=case.version,
        now=NOW,
    )
    casework.approve(
        session, case.reference, people["officer2"], version=case.version, now=NOW, jurisdiction=J
    )
    assert case.state == "rectifying"
    assert casework.follow_up(session, deadline, now=NOW, jurisdiction=J) == []  # on the deadline: not yet
    after = deadline + dt.timedelta(days=1)
    moved = casework.follow_up(session, after, now=FixedClock.on(after).now(), jurisdiction=J)
    assert moved == [case.reference]
    session.refresh(case)
    assert case.state == "verifying" and case.verification is not None
    assert casework.follow_up(session, after, now=FixedClock.on(after).now(), jurisdiction=J) == []
    casework.close(
        session, case.reference, "rectified", people["officer"], version=case.version, now=NOW, jurisdiction=J
    )
    lift = queries.pending_proposal(session, case.id or 0)
    assert lift is not None and lift.kind == "lift" and lift.status == "pending"
    casework.approve(
        session, case.reference, people["officer2"], version=case.version, now=NOW, jurisdiction=J
    )
    session.refresh(lift)
    assert lift.status == "approved" and lift.decision_id is not None


def test_two_officers_at_once_one_succeeds_one_gets_a_conflict(
    session: Session, people: dict[str, Actor]
) -> None:
    case = opened(session, people["officer"], institution(session))
    seen = case.version
    casework.start(session, case.reference, people["officer"], version=seen, now=NOW)
    with pytest.raises(Conflict, match=r"changed by someone else|cannot move"):
        casework.start(session, case.reference, people["officer2"], version=seen, now=NOW)


def test_officers_act_only_in_their_grids(session: Session, people: dict[str, Actor]) -> None:
    uscc = institution(session)
    with pytest.raises(Forbidden, match="grid"):
        opened(session, people["outsider"], uscc)
    case = opened(session, people["officer"], uscc)
    with pytest.raises(Forbidden, match="grid"):
        casework.start(session, case.reference, people["outsider"], version=case.version, now=NOW)
    with pytest.raises(Forbidden):
        casework.start(session, case.reference, people["auditor"], version=case.version, now=NOW)


@pytest.mark.parametrize("frm", CASE_STATES)
def test_every_move_the_table_does_not_allow_is_refused(
    session: Session, people: dict[str, Actor], frm: str
) -> None:
    case = opened(session, people["officer"], institution(session))
    session.execute(text("UPDATE enforcement_case SET state = :s WHERE id = :i"), {"s": frm, "i": case.id})
    session.refresh(case)
    for to in CASE_STATES:
        if (frm, to) in TRANSITIONS:
            continue
        with pytest.raises(Conflict, match=f"is {frm}: it cannot move to {to}"):
            transition(session, case, to, people["supervisor"], now=NOW)
    assert case.state == frm


@pytest.mark.parametrize(("frm", "to"), sorted(TRANSITIONS))
def test_every_allowed_move_is_made_by_whom_the_table_says(
    session: Session, people: dict[str, Actor], frm: str, to: str
) -> None:
    case = opened(session, people["officer"], institution(session))
    session.execute(text("UPDATE enforcement_case SET state = :s WHERE id = :i"), {"s": frm, "i": case.id})
    session.refresh(case)
    move = TRANSITIONS[(frm, to)]
    actor = Actor("system:test", None) if move.by == "system" else people["supervisor"]
    if move.by != "system":
        with pytest.raises(Forbidden):
            transition(session, case, to, people["auditor"], now=NOW, note="x")
    with session.begin_nested():
        transition(session, case, to, actor, now=NOW, note="a reason")
    assert case.state == to


def test_case_events_are_append_only(engine: Engine, session: Session, people: dict[str, Actor]) -> None:
    case = opened(session, people["officer"], institution(session))
    session.flush()
    with pytest.raises(Exception, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE case_event SET note = 'x' WHERE case_id = :i"), {"i": case.id})


def test_the_follow_up_moves_a_case_once_with_two_schedulers_and_after_a_restart(
    fresh_engine: Engine,
) -> None:
    """Two scheduler processes running the follow-up for the same day at once (two sessions racing), then
    a restarted one running it again: the case moves to verifying once, with one event."""
    import threading

    with Session(fresh_engine) as s:
        crew = {r: user(s, r) for r in ("officer", "supervisor")}
        crew["officer2"] = user(s, "officer")
        case = opened(s, crew["officer"], institution(s))
        casework.start(s, case.reference, crew["officer"], version=case.version, now=NOW)
        deadline = TODAY + dt.timedelta(days=3)
        order = ProposalIn(
            kind="rectification_order", basis=["LIC-EXPIRED"], summary="整改", deadline=deadline
        )
        casework.propose(s, case.reference, order, crew["officer"], version=case.version, now=NOW)
        casework.approve(s, case.reference, crew["officer2"], version=case.version, now=NOW, jurisdiction=J)
        s.commit()
        reference = case.reference
    day = deadline + dt.timedelta(days=1)
    later = FixedClock.on(day).now()
    barrier = threading.Barrier(2)
    moved: list[list[str]] = []

    def scheduler() -> None:
        with Session(fresh_engine) as s:
            s.connection()  # both transactions begin before either moves the case
            barrier.wait()
            moved.append(casework.follow_up(s, day, now=later, jurisdiction=J))
            s.commit()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with Session(fresh_engine) as s:  # a restart: the job runs again for the same day
        moved.append(casework.follow_up(s, day, now=later, jurisdiction=J))
        s.commit()
        case = casework.get_case(s, reference)
        events = [e for e in queries.events_of_case(s, case.id or 0) if e.to_state == "verifying"]
    assert sorted(len(m) for m in moved) == [0, 0, 1]
    assert case.state == "verifying" and len(events) == 1


def test_my_work_lists_the_proposals_awaiting_me(session: Session, people: dict[str, Actor]) -> None:
    case = investigating(session, people)
    warning = ProposalIn(kind="warning", basis=["LIC-EXPIRED"], summary="警告")
    casework.propose(session, case.reference, warning, people["officer"], version=case.version, now=NOW)
    mine = [ref for _, ref in casework.awaiting_approval_by(session, people["officer2"])]
    assert case.reference in mine
    assert case.reference not in [ref for _, ref in casework.awaiting_approval_by(session, people["officer"])]
    assert case.reference not in [
        ref for _, ref in casework.awaiting_approval_by(session, people["outsider"])
    ]
    assert case.reference not in [ref for _, ref in casework.awaiting_approval_by(session, people["admin"])]
