"""Case work (案件办理): opening cases, assigning and investigating them, the two-person decision with the
institution's right to be heard, the rectification follow-up, closing (``enforcement.md``).

Every change of state goes through :func:`supervision.cases.workflow.transition`; this module adds the
business steps around the moves: a proposal checked whole when it is made and approved by a second person, a
notice served with its statement period, a decision recorded only after approval (and after the period),
a lift proposed when a rectification is confirmed. Nothing reaches the public record or the lists before a
decision is recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from rules.uscc import is_well_formed
from supervision.accounts.permissions import (
    SERIOUS_KINDS,
    Actor,
    Perm,
    Role,
    actor_of,
    can,
    in_grid,
    may_approve,
)
from supervision.cases import queries
from supervision.cases.models import CASE_SOURCES, CASE_STATES, OPEN_STATES, Case, CaseEvent, Proposal
from supervision.cases.schemas import (
    KIND_ZH,
    AnswerAct,
    ApproveAct,
    AssignAct,
    CaseAction,
    CaseDetail,
    CaseEventOut,
    CaseOpenIn,
    CaseOut,
    CloseAct,
    DecideAct,
    DecisionIn,
    DismissAct,
    MergeAct,
    NoteAct,
    ProposalIn,
    ProposalOut,
    ProposeAct,
    ReconsiderAct,
    ReturnAct,
    StartAct,
)
from supervision.cases.service import check_decision, record_decision
from supervision.cases.workflow import allowed, transition
from supervision.core import audit, rulebook
from supervision.core.clock import business_date
from supervision.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from supervision.lists.catalogue import known_ids
from supervision.registry import queries as registry_queries

DECIDE_DAYS = 90
"""``case.decide_days``: 《行政处罚法》 art. 60, a case is decided within 90 days of being opened."""
STATEMENT_DAYS = 5
"""``case.statement_days``: working days the institution has to state its case after a notice."""


def _require(actor: Actor, perm: Perm) -> None:
    if not can(actor, perm):
        raise Forbidden(f"a {actor.role} may not do this ({perm})")


def _grid_check(actor: Actor, grid: str | None, what: str) -> None:
    if not in_grid(actor, grid):
        raise Forbidden(f"{what} is in grid {grid or '(none)'}, not one of yours")


def get_case(session: Session, reference: str, *, lock: bool = False) -> Case:
    case = queries.case_by_reference(session, reference, lock=lock)
    if case is None:
        raise NotFound(f"no case with reference {reference}")
    return case


def case_out(session: Session, case: Case, today: dt.date) -> CaseOut:
    assigned = queries.username_of(session, case.assigned_to) if case.assigned_to else None
    merged = queries.case_by_id(session, case.merged_into_id) if case.merged_into_id else None
    follows = queries.case_by_id(session, case.follows_id) if case.follows_id else None
    return CaseOut(
        id=case.id or 0,
        reference=case.reference,
        uscc=case.uscc,
        institution_name=case.institution_name,
        operator_address=case.operator_address,
        grid=case.grid,
        source=case.source,
        state=case.state,
        basis=list(case.basis),
        summary=case.summary,
        finding_ids=list(case.finding_ids),
        assigned_to=assigned,
        opened_by=case.opened_by,
        opened_at=case.opened_at,
        opened_on=case.opened_on,
        decide_by=case.decide_by,
        overdue=is_overdue(case, today),
        decision_id=case.decision_id,
        verification=case.verification,
        outcome=case.outcome,
        merged_into=merged.reference if merged else None,
        follows=follows.reference if follows else None,
        version=case.version,
        updated_at=case.updated_at,
        closed_at=case.closed_at,
    )


def record_event(
    session: Session,
    case_id: int,
    actor: str,
    kind: str,
    *,
    note: str | None,
    now: dt.datetime,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Add one entry to a case's record (a note, the institution's statement, the officer's answer …);
    transitions write theirs in :func:`supervision.cases.workflow.transition`."""
    event = CaseEvent(case_id=case_id, at=now, actor=actor, kind=kind, note=note, data=data)
    session.add(event)
    return event


def is_overdue(case: Case, today: dt.date) -> bool:
    """Past the 90-day decision deadline and not yet decided (or ended)."""
    return case.state in queries.UNDECIDED_STATES and today > case.decide_by


# ------------------------------------------------------------------------------------------ opening


def open_case(
    session: Session,
    data: CaseOpenIn,
    actor: Actor,
    *,
    now: dt.datetime,
    jurisdiction: str,
    state: str = "new",
) -> Case:
    """Open a case (立案) about a registered institution or an unregistered operator. An officer opens cases
    only in their grids. ``state`` is ``new`` except when the case is opened to carry a decision proposed
    outside a case (then ``investigating``, assigned to the actor)."""
    if not actor.is_system:
        _require(actor, Perm.CASE_WORK)
    problems: list[Problem] = []
    grid = data.grid
    name: str | None = None
    uscc = data.uscc.upper() if data.uscc else None
    if uscc is not None:
        doc = registry_queries.document(session, uscc) if is_well_formed(uscc) else None
        if doc is None:
            problems.append(Problem("uscc", f"no institution is registered with credit code {uscc}"))
        else:
            name, grid = doc["name"], doc["grid"]
    elif not data.operator_address:
        problems.append(Problem("uscc", "name the institution (uscc) or the operator's address"))
    grids = rulebook.grids(jurisdiction)
    if grid is None:
        problems.append(Problem("grid", "name the grid of an unregistered operator"))
    elif grids and grid not in grids:
        problems.append(Problem("grid", f"{grid} is not a grid of this jurisdiction"))
    for b in data.basis:
        if b not in known_ids():
            problems.append(Problem("basis", f"{b} is not a rule or conduct ID of the catalogue"))
    if problems:
        raise Invalid("the case cannot be opened", problems)
    assert grid is not None
    _grid_check(actor, grid, "the institution")
    today = business_date(now)
    case_id = queries.next_case_id(session)
    case = Case(
        id=case_id,
        reference=f"AJ{today.year}-{case_id:06d}",
        uscc=uscc,
        institution_name=name,
        operator_address=data.operator_address,
        grid=grid,
        source=data.source,
        state=state,
        basis=list(dict.fromkeys(data.basis)),
        summary=data.summary,
        finding_ids=list(dict.fromkeys(data.finding_ids)),
        assigned_to=None,
        opened_by=actor.name,
        opened_at=now,
        opened_on=today,
        decide_by=today + dt.timedelta(days=DECIDE_DAYS),
        version=1,
        updated_at=now,
    )
    if state != "new":
        user = queries.user_by_username(session, actor.username)
        case.assigned_to = user.id if user else None
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(case_id=case_id, at=now, actor=actor.name, kind="transition", to_state=state, note=None)
    )
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action="open",
        entity="case",
        key=case.reference,
        before=None,
        after={"source": data.source, "uscc": uscc, "grid": grid, "basis": case.basis, "state": state},
    )
    session.flush()
    return case


def open_risk_cases(session: Session, *, now: dt.datetime, jurisdiction: str) -> list[str]:
    """Open a case (source ``risk``) for every institution whose stored tier turned red and that has no risk
    case opened since (none open, and none closed since it turned red: an officer who closed one while the
    tier stays red is not handed it again). The scheduler calls it after each rule run and daily. Returns
    the new case numbers."""
    opened = []
    for uscc, because in queries.red_without_risk_case(session):
        case = open_risk_case(session, uscc, because, now=now, jurisdiction=jurisdiction)
        if case is not None:
            opened.append(case.reference)
    return opened


def open_risk_case(
    session: Session, uscc: str, because: list[str], *, now: dt.datetime, jurisdiction: str
) -> Case | None:
    """A red risk tier opens one case (source ``risk``) while none is open for the institution; returns
    the new case, or None when one is open already."""
    if queries.open_case_of(session, uscc, "risk") is not None:
        return None
    data = CaseOpenIn(
        source="risk",
        uscc=uscc,
        basis=[b for b in because if b in known_ids()],
        summary="风险预警（红色）：" + "、".join(because),
    )
    return open_case(session, data, Actor("system:risk", None), now=now, jurisdiction=jurisdiction)


# ------------------------------------------------------------------------------------------ working it


def assign(
    session: Session, reference: str, officer: str, actor: Actor, *, version: int, now: dt.datetime
) -> Case:
    """A supervisor assigns a new case to an officer whose grids include the case's grid."""
    case = get_case(session, reference)
    user = queries.user_by_username(session, officer)
    if user is None or not user.active:
        raise Invalid("cannot assign the case", [Problem("officer", f"no active staff user {officer}")])
    if user.role not in ("officer", "supervisor") or not in_grid(actor_of(user), case.grid):
        raise Invalid(
            "cannot assign the case",
            [Problem("officer", f"{officer} does not work in grid {case.grid}")],
        )
    return transition(
        session,
        case,
        "assigned",
        actor,
        now=now,
        version=version,
        note=f"分派给 {officer}",
        changes={"assigned_to": user.id},
    )


def start(session: Session, reference: str, actor: Actor, *, version: int, now: dt.datetime) -> Case:
    """The officer takes the case and starts investigating (a new case is assigned to whoever takes it)."""
    case = get_case(session, reference)
    changes: dict[str, Any] = {}
    if case.assigned_to is None:
        user = queries.user_by_username(session, actor.username)
        if user is not None:
            changes["assigned_to"] = user.id
    return transition(session, case, "investigating", actor, now=now, version=version, changes=changes)


def add_note(session: Session, reference: str, actor: Actor, note: str, *, now: dt.datetime) -> CaseEvent:
    case = get_case(session, reference)
    _require(actor, Perm.CASE_WORK)
    _grid_check(actor, case.grid, f"case {reference}")
    if not note.strip():
        raise Invalid("the note is empty", [Problem("note", "write something")])
    event = record_event(session, case.id or 0, actor.name, "note", note=note.strip(), now=now)
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action="note",
        entity="case",
        key=reference,
        before=None,
        after={"note": note.strip()},
    )
    session.flush()
    return event


def _decision_in(case: Case, data: ProposalIn | Proposal, *, decided_on: dt.date | None = None) -> DecisionIn:
    assert case.uscc is not None
    return DecisionIn(
        uscc=case.uscc,
        kind=data.kind,
        reference=data.reference,
        basis=list(data.basis),
        summary=data.summary,
        decided_on=decided_on,
        deadline=data.deadline,
        until=data.until,
        lifts=data.lifts,
    )


def propose(
    session: Session, reference: str, data: ProposalIn, actor: Actor, *, version: int, now: dt.datetime
) -> Proposal:
    """The assigned officer proposes a decision; it is checked whole now (and again when approved)."""
    case = get_case(session, reference)
    if case.uscc is None:
        raise Invalid(
            "a decision needs a registered institution",
            [Problem("uscc", "link the case to the institution's registry entry first")],
        )
    check_decision(session, _decision_in(case, data), now=now)
    transition(
        session,
        case,
        "proposed",
        actor,
        now=now,
        version=version,
        note=data.summary,
        data={"kind": data.kind, "basis": list(data.basis)},
    )
    proposal = _new_proposal(session, case, data, actor, now=now)
    return proposal


def _new_proposal(
    session: Session, case: Case, data: ProposalIn, actor: Actor, *, now: dt.datetime
) -> Proposal:
    assert case.uscc is not None and case.id is not None
    proposal = Proposal(
        case_id=case.id,
        uscc=case.uscc,
        kind=data.kind,
        basis=list(data.basis),
        summary=data.summary,
        reference=data.reference,
        deadline=data.deadline,
        until=data.until,
        lifts=data.lifts,
        status="pending",
        proposed_by=actor.name,
        proposed_at=now,
        hearing_requested=False,
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action="propose",
        entity="proposal",
        key=str(proposal.id),
        before=None,
        after=ProposalOut.model_validate(proposal, from_attributes=True).model_dump(mode="json"),
    )
    return proposal


def _lifted_kind(session: Session, proposal: Proposal) -> str | None:
    if proposal.kind != "lift" or not proposal.lifts:
        return None
    lifted = queries.by_reference(session, proposal.lifts)
    return lifted["kind"] if lifted else None


def approve(
    session: Session, reference: str, actor: Actor, *, version: int, now: dt.datetime, jurisdiction: str
) -> Proposal:
    """A second person approves the case's pending proposal. A warning, rectification order or lift is
    recorded as a decision at once (an order moves on to ``rectifying``); a suspension, revocation or
    blacklisting is served on the institution as a notice with ``case.statement_days`` working days to
    state its case (``notified``)."""
    case = get_case(session, reference)
    proposal = queries.pending_proposal(session, case.id or 0)
    if proposal is None or proposal.status != "pending":
        raise Conflict(f"case {reference} has no proposal awaiting approval", "no_proposal")
    if proposal.proposed_by == actor.name:
        raise Forbidden("the person who proposed a decision cannot approve it (two-person rule)")
    if not may_approve(actor, proposal.kind, _lifted_kind(session, proposal)):
        raise Forbidden(f"a {proposal.kind} (or its lift) must be approved by a supervisor")
    today = business_date(now)
    serious = proposal.kind in SERIOUS_KINDS
    if case.state == "closed" and proposal.kind == "lift":
        # The lift proposed when a closed case was confirmed rectified: approving it records the lift.
        _grid_check(actor, case.grid, f"case {reference}")
        _record(session, case, proposal, actor, now=now)
        record_event(session, case.id or 0, actor.name, "note", note=f"批准解除：{proposal.summary}", now=now)
        session.flush()
        return proposal
    if serious:
        check_decision(session, _decision_in(case, proposal), now=now)
        transition(
            session,
            case,
            "notified",
            actor,
            now=now,
            version=version,
            proposer=proposal.proposed_by,
            note="批准；向机构送达事先告知书",
        )
        proposal.status = "notified"
        proposal.approved_by = actor.name
        proposal.approved_at = now
        proposal.served_on = today
        proposal.statement_due = rulebook.add_working_days(jurisdiction, today, STATEMENT_DAYS)
        session.add(proposal)
        _audit_proposal(session, proposal, actor, "approve", now)
        return proposal
    transition(
        session,
        case,
        "decided",
        actor,
        now=now,
        version=version,
        proposer=proposal.proposed_by,
        note=f"批准：{KIND_ZH[proposal.kind]}",
    )
    decision_id = _record(session, case, proposal, actor, now=now)
    session.refresh(case)
    if proposal.kind == "rectification_order":
        transition(
            session,
            case,
            "rectifying",
            Actor("system:workflow", None),
            now=now,
            note=f"责令于 {proposal.deadline} 前整改",
            changes={"decision_id": decision_id},
        )
    else:
        _set_decision(session, case, decision_id)
    return proposal


def _set_decision(session: Session, case: Case, decision_id: int) -> None:
    case.decision_id = decision_id
    session.add(case)
    session.flush()


def _record(session: Session, case: Case, proposal: Proposal, approver: Actor, *, now: dt.datetime) -> int:
    out = record_decision(
        session,
        _decision_in(case, proposal),
        actor=approver.name,
        officer=proposal.proposed_by.removeprefix("staff:"),
        now=now,
        approved_by=proposal.approved_by or approver.name,
        case_id=case.id,
    )
    proposal.status = "approved"
    proposal.approved_by = proposal.approved_by or approver.name
    proposal.approved_at = proposal.approved_at or now
    proposal.decision_id = out.id
    session.add(proposal)
    _audit_proposal(session, proposal, approver, "decide", now)
    session.flush()
    return out.id


def _audit_proposal(
    session: Session, proposal: Proposal, actor: Actor, action: str, now: dt.datetime
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action=action,
        entity="proposal",
        key=str(proposal.id),
        before=None,
        after=ProposalOut.model_validate(proposal, from_attributes=True).model_dump(mode="json"),
    )
    session.flush()


def return_proposal(
    session: Session, reference: str, reason: str, actor: Actor, *, version: int, now: dt.datetime
) -> Case:
    """A supervisor returns a proposal for more work (``proposed`` → ``investigating``)."""
    return _back_to_investigating(
        session, reference, reason, actor, version=version, now=now, action="return"
    )


def _back_to_investigating(
    session: Session,
    reference: str,
    reason: str,
    actor: Actor,
    *,
    version: int,
    now: dt.datetime,
    action: str,
) -> Case:
    """Move the case back to ``investigating``; its proposal in play (pending or noticed) is returned."""
    case = get_case(session, reference)
    proposal = queries.pending_proposal(session, case.id or 0)
    transition(session, case, "investigating", actor, now=now, version=version, note=reason)
    if proposal is not None:
        proposal.status = "returned"
        proposal.returned_reason = reason.strip()
        session.add(proposal)
        _audit_proposal(session, proposal, actor, action, now)
    return case


# ------------------------------------------------------------------------------------------ being heard


def notices_for(session: Session, uscc: str) -> list[Proposal]:
    """The notices served on an institution (its portal shows them), newest first."""
    return [p for p in reversed(queries.proposals_of_uscc(session, uscc)) if p.served_on is not None]


def _notice_of(session: Session, uscc: str, proposal_id: int) -> Proposal:
    proposal = queries.proposal_by_id(session, proposal_id)
    if proposal is None or proposal.uscc != uscc or proposal.served_on is None:
        raise NotFound(f"no notice {proposal_id} for this institution")
    return proposal


def state_case(
    session: Session,
    uscc: str,
    proposal_id: int,
    *,
    statement: str,
    hearing: bool,
    now: dt.datetime,
) -> Proposal:
    """The institution states its case (陈述、申辩) in writing, and may ask for a hearing (听证), within the
    statement period. Its words are kept as written, in the proposal and as a case event."""
    proposal = _notice_of(session, uscc, proposal_id)
    today = business_date(now)
    problems: list[Problem] = []
    if proposal.status != "notified":
        problems.append(Problem("notice", "the decision is no longer open to a statement"))
    elif proposal.waived_at is not None:
        problems.append(Problem("notice", "the institution waived its statement"))
    elif proposal.statement_due is not None and today > proposal.statement_due:
        problems.append(Problem("notice", f"the statement period ended on {proposal.statement_due}"))
    if proposal.statement is not None:
        problems.append(Problem("statement", "a statement was already made"))
    if not statement.strip() and not hearing:
        problems.append(Problem("statement", "write the statement or ask for a hearing"))
    if len(statement) > 20000:
        problems.append(Problem("statement", "at most 20,000 characters"))
    if problems:
        raise Invalid("the statement cannot be accepted", problems)
    proposal.statement = statement.strip() or None
    proposal.statement_at = now
    proposal.hearing_requested = hearing
    session.add(proposal)
    record_event(
        session,
        proposal.case_id,
        f"institution:{uscc}",
        "statement",
        note=proposal.statement,
        data={"hearing_requested": hearing},
        now=now,
    )
    audit.record(
        session,
        at=now,
        actor=f"institution:{uscc}",
        action="statement",
        entity="proposal",
        key=str(proposal.id),
        before=None,
        after={"statement": proposal.statement, "hearing_requested": hearing},
    )
    session.flush()
    return proposal


def waive(session: Session, uscc: str, proposal_id: int, *, now: dt.datetime) -> Proposal:
    """The institution waives its statement period; the officer may then record the decision at once."""
    proposal = _notice_of(session, uscc, proposal_id)
    if proposal.status != "notified" or proposal.statement is not None or proposal.waived_at is not None:
        raise Conflict("the notice can no longer be waived", "not_waivable")
    proposal.waived_at = now
    session.add(proposal)
    record_event(
        session,
        proposal.case_id,
        f"institution:{uscc}",
        "note",
        note="机构放弃陈述、申辩和听证",
        now=now,
    )
    audit.record(
        session,
        at=now,
        actor=f"institution:{uscc}",
        action="waive",
        entity="proposal",
        key=str(proposal.id),
        before=None,
        after={"waived_at": now.isoformat()},
    )
    session.flush()
    return proposal


def answer_statement(
    session: Session, reference: str, answer: str, actor: Actor, *, now: dt.datetime
) -> Proposal:
    """The officer answers the institution's statement in the record (采纳或不予采纳的理由)."""
    case = get_case(session, reference)
    _require(actor, Perm.CASE_WORK)
    _grid_check(actor, case.grid, f"case {reference}")
    proposal = queries.pending_proposal(session, case.id or 0)
    if (
        proposal is None
        or proposal.status != "notified"
        or (proposal.statement is None and not (proposal.hearing_requested))
    ):
        raise Conflict(f"case {reference} has no statement to answer", "no_statement")
    if not answer.strip():
        raise Invalid("the answer is empty", [Problem("answer", "write the answer")])
    proposal.answer = answer.strip()
    session.add(proposal)
    record_event(session, case.id or 0, actor.name, "answer", note=proposal.answer, now=now)
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action="answer",
        entity="proposal",
        key=str(proposal.id),
        before=None,
        after={"answer": proposal.answer},
    )
    session.flush()
    return proposal


def decide(session: Session, reference: str, actor: Actor, *, version: int, now: dt.datetime) -> Case:
    """After the statement period (or a waiver), the assigned officer records the noticed decision."""
    case = get_case(session, reference)
    proposal = queries.pending_proposal(session, case.id or 0)
    if proposal is None or proposal.status != "notified":
        raise Conflict(f"case {reference} has no served notice to decide", "no_notice")
    today = business_date(now)
    problems: list[Problem] = []
    if proposal.waived_at is None and proposal.statement_due is not None and today <= proposal.statement_due:
        problems.append(
            Problem("statement_due", f"the institution may state its case until {proposal.statement_due}")
        )
    if (proposal.statement is not None or proposal.hearing_requested) and proposal.answer is None:
        problems.append(Problem("answer", "answer the institution's statement in the record first"))
    if problems:
        raise Invalid("the decision cannot be recorded yet", problems)
    transition(
        session, case, "decided", actor, now=now, version=version, note=f"作出决定：{KIND_ZH[proposal.kind]}"
    )
    decision_id = _record(session, case, proposal, actor, now=now)
    _set_decision(session, case, decision_id)
    return case


def reconsider(
    session: Session, reference: str, reason: str, actor: Actor, *, version: int, now: dt.datetime
) -> Case:
    """The statement or hearing changed the facts: back to ``investigating``; the notice is withdrawn."""
    return _back_to_investigating(
        session, reference, reason, actor, version=version, now=now, action="withdraw"
    )


# ------------------------------------------------------------------------------------------ follow-up


def follow_up(session: Session, as_of: dt.date, *, now: dt.datetime, jurisdiction: str) -> list[str]:
    """The rectification follow-up (整改复查), run by the scheduler each day: every case whose order's
    deadline has passed is re-evaluated and moves to ``verifying`` with the result. Returns the references
    moved. Idempotent: a case already moved is no longer ``rectifying`` (and the version check makes two
    schedulers at once move it once)."""
    from supervision.compliance import service as compliance

    moved: list[str] = []
    system = Actor("system:follow-up", None)
    for case_id, deadline in queries.due_rectifications(session, as_of):
        case = queries.case_by_id(session, case_id)
        if case is None or case.state != "rectifying" or case.uscc is None:
            continue
        version = case.version
        compliance.reevaluate_uscc(session, case.uscc, as_of, system.name, now=now)
        still_open = sorted(queries.open_rule_ids(session, case.uscc) & set(case.basis))
        if still_open:
            result = f"按规则复查未整改：{as_of} 仍有未解决的 {'、'.join(still_open)}"
        else:
            result = f"按规则复查已整改：{as_of} 已无未解决的 {'、'.join(case.basis)}"
        try:
            with session.begin_nested():
                transition(
                    session,
                    case,
                    "verifying",
                    system,
                    now=now,
                    version=version,
                    note=result,
                    data={"deadline": deadline.isoformat(), "still_open": still_open},
                    changes={"verification": result},
                )
        except Conflict:
            session.refresh(case)
            continue
        moved.append(case.reference)
    return moved


def close(
    session: Session,
    reference: str,
    outcome: str | None,
    actor: Actor,
    *,
    version: int,
    now: dt.datetime,
    jurisdiction: str,
    note: str | None = None,
) -> Case:
    """Close a case. From ``verifying`` the outcome is ``rectified`` (the lift of the order is proposed, to
    be approved like any decision) or ``not_rectified`` (a follow-up case is opened, linked to this one).
    From ``decided`` (a decision with no deadline) no outcome is needed."""
    case = get_case(session, reference)
    if case.state == "verifying" and outcome not in ("rectified", "not_rectified"):
        raise Invalid("closing needs the outcome", [Problem("outcome", "rectified or not_rectified")])
    if case.state == "decided":
        outcome = "decided"
    transition(
        session, case, "closed", actor, now=now, version=version, note=note, changes={"outcome": outcome}
    )
    if outcome == "rectified" and case.decision_id is not None:
        order = queries.by_id(session, case.decision_id)
        assert order is not None
        _new_proposal(
            session,
            case,
            ProposalIn(
                kind="lift",
                basis=list(order["basis"]),
                summary=f"整改到位，解除{order['reference']}责令限期整改",
                lifts=order["reference"],
            ),
            actor,
            now=now,
        )
    elif outcome == "not_rectified":
        follow = open_case(
            session,
            CaseOpenIn(
                source=case.source if case.source != "risk" else "manual",
                uscc=case.uscc,
                operator_address=case.operator_address,
                grid=case.grid,
                basis=list(case.basis),
                summary=f"逾期未整改（{case.reference}）：{case.summary}",
            ),
            actor,
            now=now,
            jurisdiction=jurisdiction,
        )
        follow.follows_id = case.id
        session.add(follow)
        session.flush()
    return case


def dismiss(
    session: Session, reference: str, reason: str, actor: Actor, *, version: int, now: dt.datetime
) -> Case:
    """Dismiss a case (no violation found, outside the remit, a duplicate). The assigned officer asks; a
    supervisor confirms (the move itself is the supervisor's)."""
    case = get_case(session, reference)
    if actor.role is not Role.SUPERVISOR:
        return _request_dismissal(session, case, reason, actor, now=now)
    return transition(
        session,
        case,
        "dismissed",
        actor,
        now=now,
        version=version,
        note=reason,
        changes={"outcome": f"dismissed: {reason.strip()}"},
    )


def _request_dismissal(session: Session, case: Case, reason: str, actor: Actor, *, now: dt.datetime) -> Case:
    if case.state != "investigating":
        raise Conflict(
            f"case {case.reference} is {case.state}: only an investigation can be dismissed",
            "invalid_transition",
        )
    _require(actor, Perm.CASE_WORK)
    _grid_check(actor, case.grid, f"case {case.reference}")
    if not reason.strip():
        raise Invalid("a dismissal needs a reason", [Problem("note", "why the case should be dismissed")])
    record_event(
        session,
        case.id or 0,
        actor.name,
        "note",
        note=f"申请撤销案件（待审核人确认）：{reason.strip()}",
        now=now,
    )
    session.flush()
    return case


def merge(
    session: Session, reference: str, into: str, reason: str, actor: Actor, *, version: int, now: dt.datetime
) -> Case:
    """A supervisor merges a case into another open case of the same institution."""
    case = get_case(session, reference)
    target = get_case(session, into)
    if target.id == case.id or target.uscc != case.uscc or target.state not in OPEN_STATES:
        raise Invalid("cannot merge", [Problem("into", "an open case of the same institution")])
    return transition(
        session,
        case,
        "merged",
        actor,
        now=now,
        version=version,
        note=reason,
        changes={"merged_into_id": target.id, "outcome": f"merged into {target.reference}"},
    )


def propose_outside_case(
    session: Session, data: DecisionIn, actor: Actor, *, now: dt.datetime, jurisdiction: str
) -> Proposal:
    """A decision entered outside a case (the decisions API and console) goes through the same proposal
    and approval: it opens a ``manual`` case about the institution, assigned to the proposer, with the
    proposal in it."""
    check_decision(session, data, now=now)
    case = open_case(
        session,
        CaseOpenIn(
            source="manual", uscc=data.uscc.strip().upper(), basis=list(data.basis), summary=data.summary
        ),
        actor,
        now=now,
        jurisdiction=jurisdiction,
        state="investigating",
    )
    return propose(
        session,
        case.reference,
        ProposalIn(
            kind=data.kind,
            basis=list(data.basis),
            summary=data.summary,
            reference=data.reference,
            deadline=data.deadline,
            until=data.until,
            lifts=data.lifts,
        ),
        actor,
        version=case.version,
        now=now,
    )


def case_of_proposal(session: Session, proposal: Proposal) -> Case:
    case = queries.case_by_id(session, proposal.case_id)
    assert case is not None
    return case


# ------------------------------------------------------------------------------------------ reading


def search_cases(
    session: Session,
    *,
    today: dt.date,
    grid: str | None = None,
    state: str | None = None,
    source: str | None = None,
    overdue: bool | None = None,
    assigned_to: str | None = None,
    uscc: str | None = None,
    limit: int,
    offset: int,
) -> tuple[int, list[CaseOut]]:
    """Cases, most urgent first (overdue, then the nearest decision deadline), filtered by grid, state,
    source, overdue, assignee (a username) and institution."""
    problems: list[Problem] = []
    if state is not None and state not in CASE_STATES:
        problems.append(Problem("state", "one of " + ", ".join(CASE_STATES)))
    if source is not None and source not in CASE_SOURCES:
        problems.append(Problem("source", "one of " + ", ".join(CASE_SOURCES)))
    if problems:
        raise Invalid("the cases cannot be listed so", problems)
    total, rows = queries.search_cases(
        session,
        today=today,
        grid=grid,
        state=state,
        source=source,
        overdue=overdue,
        assigned_to=assigned_to,
        uscc=uscc.upper() if uscc else None,
        limit=limit,
        offset=offset,
    )
    return total, [case_out(session, c, today) for c in rows]


def case_detail(session: Session, reference: str, today: dt.date) -> CaseDetail:
    """A case with its whole record (staff only: internal notes included)."""
    from supervision.cases.inspections import attachments

    case = get_case(session, reference)
    case_id = case.id or 0
    files = attachments(session, "case", case_id)
    proposals = queries.proposals_of_case(session, case_id)
    for p in proposals:
        files.extend(attachments(session, "proposal", p.id or 0))
    return CaseDetail(
        case=case_out(session, case, today),
        events=[
            CaseEventOut.model_validate(e, from_attributes=True)
            for e in queries.events_of_case(session, case_id)
        ],
        proposals=[ProposalOut.model_validate(p, from_attributes=True) for p in proposals],
        attachments=files,
        actions=sorted(allowed(case.state)),
    )


def act(
    session: Session, reference: str, action: CaseAction, actor: Actor, *, now: dt.datetime, jurisdiction: str
) -> None:
    """One step of case work asked for by a person (the API and the console's forms): dispatched to the
    use case of that step. Flushes; the caller commits."""
    v = action.version
    match action:
        case AssignAct():
            assign(session, reference, action.officer, actor, version=v, now=now)
        case StartAct():
            start(session, reference, actor, version=v, now=now)
        case NoteAct():
            add_note(session, reference, actor, action.note, now=now)
        case ProposeAct():
            propose(session, reference, action.proposal, actor, version=v, now=now)
        case ApproveAct():
            approve(session, reference, actor, version=v, now=now, jurisdiction=jurisdiction)
        case ReturnAct():
            return_proposal(session, reference, action.reason, actor, version=v, now=now)
        case AnswerAct():
            answer_statement(session, reference, action.answer, actor, now=now)
        case DecideAct():
            decide(session, reference, actor, version=v, now=now)
        case ReconsiderAct():
            reconsider(session, reference, action.reason, actor, version=v, now=now)
        case CloseAct():
            close(
                session,
                reference,
                action.outcome,
                actor,
                version=v,
                now=now,
                jurisdiction=jurisdiction,
                note=action.note,
            )
        case DismissAct():
            dismiss(session, reference, action.reason, actor, version=v, now=now)
        case MergeAct():
            merge(session, reference, action.into, action.reason, actor, version=v, now=now)


# ------------------------------------------------------------------------------------------ proposals


def search_proposals(
    session: Session, *, status: str | None, uscc: str | None, limit: int, offset: int
) -> tuple[int, list[ProposalOut]]:
    """Proposed decisions, newest first (``pending`` ones await a second person)."""
    total, rows = queries.search_proposals(
        session, status=status, uscc=uscc.upper() if uscc else None, limit=limit, offset=offset
    )
    return total, [ProposalOut.model_validate(p, from_attributes=True) for p in rows]


def get_proposal(session: Session, proposal_id: int) -> Proposal:
    proposal = queries.proposal_by_id(session, proposal_id)
    if proposal is None:
        raise NotFound(f"no proposed decision {proposal_id}")
    return proposal


def approve_proposal(
    session: Session,
    proposal_id: int,
    actor: Actor,
    *,
    version: int | None,
    now: dt.datetime,
    jurisdiction: str,
) -> Proposal:
    """Approve a proposal by its number (the decisions API and console): the same approval as in its case."""
    proposal = get_proposal(session, proposal_id)
    case = case_of_proposal(session, proposal)
    if proposal.status != "pending":
        raise Conflict(f"proposal {proposal_id} is {proposal.status}, not awaiting approval", "not_pending")
    return approve(
        session, case.reference, actor, version=version or case.version, now=now, jurisdiction=jurisdiction
    )


def return_proposal_by_id(
    session: Session, proposal_id: int, reason: str, actor: Actor, *, version: int | None, now: dt.datetime
) -> Proposal:
    proposal = get_proposal(session, proposal_id)
    case = case_of_proposal(session, proposal)
    if proposal.status != "pending":
        raise Conflict(f"proposal {proposal_id} is {proposal.status}, not awaiting approval", "not_pending")
    return_proposal(session, case.reference, reason, actor, version=version or case.version, now=now)
    return proposal


def institution_record(session: Session, uscc: str, actor: Actor, *, today: dt.date) -> dict[str, Any]:
    """Everything about one institution for the staff page (机构全貌): the registry document and its change
    history, open findings, cases, decisions and proposals, complaints, inspections, escrow statements and
    list history."""
    from supervision.cases import inbox, inspections
    from supervision.cases import service as decisions
    from supervision.compliance import service as compliance
    from supervision.escrow import service as escrow
    from supervision.lists import service as lists
    from supervision.registry import service as registry

    doc = registry.get(session, uscc)
    _, findings = compliance.search_findings(session, uscc=uscc, status="open", limit=200, offset=0)
    _, cases = search_cases(session, today=today, uscc=uscc, limit=200, offset=0)
    _, decided = decisions.search_decisions(session, uscc=uscc, kind=None, limit=200, offset=0)
    _, proposed = search_proposals(session, status=None, uscc=uscc, limit=50, offset=0)
    _, complaints = inbox.inbox(session, actor, uscc=uscc, limit=200, offset=0, today=today)
    _, inspected = inspections.list_inspections(session, uscc=uscc, limit=50, offset=0)
    holder = escrow.institution_for_staff(session, uscc)
    _, statements = escrow.list_statements(session, holder["id"], limit=24, offset=0)
    return {
        "doc": doc,
        "risk": registry.risk(session, uscc),
        "findings": findings,
        "cases": cases,
        "decisions": decided,
        "proposals": [p for p in proposed if p.status in ("pending", "notified")],
        "complaints": complaints,
        "inspections": inspected,
        "statements": statements,
        "list_history": lists.list_history(session, uscc),
        "changes": registry.history(session, uscc),
    }


STATEMENT_MAX_FILES = 5
"""The most files an institution attaches to one statement (each at most ``inspection.max_file_bytes``)."""
STATEMENT_FILE_TYPES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
"""What an institution may attach to its statement, recognised by content."""
_PUBLIC_DECISION_FIELDS = (
    "reference",
    "kind",
    "basis",
    "summary",
    "decided_on",
    "effective_from",
    "deadline",
    "until",
    "lifts",
    "lifted_by",
    "lifted_on",
)


def portal_view(session: Session, uscc: str, *, today: dt.date) -> dict[str, Any]:
    """What an institution sees of its cases in the portal: the notices of proposed decisions (facts, basis,
    proposed decision, rights, deadline and the days left, its own statement with the files it attached and,
    once the decision is recorded, the officer's answer to it), its decisions and the rectification
    deadlines in force. Never officers' notes or names, the reason a notice was withdrawn, complaints or
    complainants: a decision shows what the public institution page shows."""
    from supervision.cases import inspections
    from supervision.cases import service as decisions

    notices = []
    for p in notices_for(session, uscc):
        open_ = p.status == "notified" and p.waived_at is None and p.statement is None
        open_ = open_ and p.statement_due is not None and today <= p.statement_due
        files = inspections.attachments(session, "proposal", p.id or 0)
        notices.append(
            {
                "id": p.id,
                "kind": p.kind,
                "summary": p.summary,
                "basis": list(p.basis),
                "served_on": p.served_on,
                "statement_due": p.statement_due,
                "days_left": (p.statement_due - today).days if open_ and p.statement_due else None,
                "waived": p.waived_at is not None,
                "statement": p.statement,
                "statement_on": business_date(p.statement_at) if p.statement_at else None,
                "hearing_requested": p.hearing_requested,
                "files": [{"filename": f.filename, "size_bytes": f.size_bytes} for f in files],
                "answer": p.answer if p.status == "approved" else None,
                "decided": p.status == "approved",
                "withdrawn": p.status == "returned",
                "can_state": open_,
            }
        )
    _, decided = decisions.search_decisions(session, uscc=uscc, kind=None, limit=100, offset=0)
    rectifications = [
        {
            "reference": d.reference,
            "deadline": d.deadline,
            "days_left": (d.deadline - today).days,
            "summary": d.summary,
        }
        for d in decided
        if d.kind == "rectification_order" and d.deadline is not None and not d.lifted_by
    ]
    shown = [{k: getattr(d, k) for k in _PUBLIC_DECISION_FIELDS} for d in decided]
    return {"notices": notices, "decisions": shown, "rectifications": rectifications}


def submit_statement(
    session: Session,
    uscc: str,
    proposal_id: int,
    *,
    statement: str,
    hearing: bool,
    files: list[tuple[str, bytes]],
    now: dt.datetime,
) -> Proposal:
    """The institution's statement from its portal: the words and the hearing request
    (:func:`state_case`) with up to :data:`STATEMENT_MAX_FILES` files (PDF, JPEG or PNG by content, each
    at most ``inspection.max_file_bytes``), kept with the notice and noted in the case's record. Checked
    whole: every problem of the words and of each file at once, and nothing kept unless all is right."""
    from supervision.cases import inspections
    from supervision.settings import get_settings

    limit = get_settings().inspection_max_file_bytes
    problems: list[Problem] = []
    if len(files) > STATEMENT_MAX_FILES:
        problems.append(Problem("files", f"at most {STATEMENT_MAX_FILES} files"))
    for i, (name, content) in enumerate(files):
        kind = inspections.sniff(content) if content else None
        if not content:
            problems.append(Problem(f"files[{i}]", f"{name}: the file is empty"))
        elif len(content) > limit:
            problems.append(Problem(f"files[{i}]", f"{name}: larger than {limit} bytes"))
        elif kind not in STATEMENT_FILE_TYPES:
            problems.append(Problem(f"files[{i}]", f"{name}: not a PDF, JPEG or PNG (checked by content)"))
    try:
        proposal = state_case(session, uscc, proposal_id, statement=statement, hearing=hearing, now=now)
    except Invalid as exc:
        raise Invalid(exc.detail, [*exc.problems, *problems]) from None
    if problems:
        raise Invalid("the statement cannot be accepted", problems)
    actor = f"institution:{uscc}"
    for name, content in files:
        inspections.attach_file(session, "proposal", proposal_id, name, content, actor, now=now)
    return proposal


def waive_in_portal(
    session: Session, uscc: str, proposal_id: int, *, confirmed: bool, now: dt.datetime
) -> Proposal:
    """The waiver as the portal's form sends it (:func:`waive`), which the institution must confirm; a notice
    not served on it is not found, whether confirmed or not."""
    _notice_of(session, uscc, proposal_id)
    if not confirmed:
        raise Invalid("confirm the waiver", [Problem("confirm", "confirm the waiver first")])
    return waive(session, uscc, proposal_id, now=now)


def awaiting_approval_by(session: Session, actor: Actor) -> list[tuple[ProposalOut, str]]:
    """The pending proposals ``actor`` may approve (a second person of the right role, in the case's grid),
    with their case references: "my work" lists them."""
    _, pending = search_proposals(session, status="pending", uscc=None, limit=200, offset=0)
    out: list[tuple[ProposalOut, str]] = []
    for p in pending:
        case = queries.case_by_id(session, p.case_id)
        if case is None or p.proposed_by == actor.name or not in_grid(actor, case.grid):
            continue
        lifted = queries.by_reference(session, p.lifts) if p.kind == "lift" and p.lifts else None
        if may_approve(actor, p.kind, lifted["kind"] if lifted else None):
            out.append((p, case.reference))
    return out
