"""The complaints inbox (举报处理): staff read every complaint and triage each one once, within
``case.triage_days`` working days of receipt: open a new case (立案), attach it to an open case of the same
institution (并案), or reject it with a reason the complainant reads (不予受理). A complaint about an
institution not found at first can be matched to the registry later. The complainant follows it with its
reference (``enforcement.md``, Complaints inbox).

A complaint's own words, contact and date never change (a database trigger refuses it); triage and matching
only fill in what staff did with it, each with an audit row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlmodel import Session

from rules.uscc import is_well_formed
from supervision.accounts.permissions import Actor, Perm, Role, can, in_grid
from supervision.cases import casework, queries
from supervision.cases.casework import get_case, open_case
from supervision.cases.models import OPEN_STATES, Case, Complaint
from supervision.cases.schemas import (
    KIND_EN,
    KIND_ZH,
    CaseOpenIn,
    ComplainantView,
    ComplaintRow,
    TriageAttachIn,
    TriageIn,
    TriageOpenIn,
    TriageRejectIn,
)
from supervision.core import audit
from supervision.core.clock import business_date
from supervision.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from supervision.core.pagination import MAX_PAGE_SIZE
from supervision.registry import queries as registry_queries

REJECT_REASONS = (
    "不属于本局职责（outside the bureau's remit）",
    "已转12315处理（消费纠纷，forwarded to 12315 as a consumer dispute）",
    "已转相关部门处理（forwarded to the competent department）",
    "举报内容不具体，无法核查（too vague to verify）",
)
"""Usual reasons for rejecting a complaint, offered by the console; any other reason may be written."""


# ------------------------------------------------------------------------------------------ reading


def inbox(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    grid: str | None = None,
    overdue: bool | None = None,
    uscc: str | None = None,
    limit: int,
    offset: int,
    today: dt.date,
) -> tuple[int, list[ComplaintRow]]:
    """The complaints inbox: every complaint (any staff user reads all of them), awaiting triage first by
    deadline, then the rest newest first. Filters: ``status`` (new, opened, attached, rejected), ``grid``,
    ``overdue`` (awaiting triage past ``triage_due``, or not), ``uscc``. Returns the total matching and one
    page. Each row says whether ``actor`` may triage it (``can_triage``)."""
    _require_read(actor)
    problems: list[Problem] = []
    if status is not None and status not in ("new", "opened", "attached", "rejected"):
        problems.append(Problem("status", "one of new, opened, attached, rejected"))
    if not 1 <= limit <= MAX_PAGE_SIZE:
        problems.append(Problem("limit", f"between 1 and {MAX_PAGE_SIZE}"))
    if offset < 0:
        problems.append(Problem("offset", "0 or more"))
    if problems:
        raise Invalid("the inbox cannot be listed so", problems)
    total, rows = queries.inbox(
        session,
        status=status,
        grid=grid,
        overdue=overdue,
        uscc=uscc.upper() if uscc else None,
        today=today,
        limit=limit,
        offset=offset,
    )
    return total, [_row(r, actor, today) for r in rows]


def complaint_row(session: Session, reference: str, actor: Actor, *, today: dt.date) -> ComplaintRow:
    """One complaint as the inbox shows it (the staff detail page)."""
    _require_read(actor)
    row = queries.inbox_row(session, reference)
    if row is None:
        raise NotFound(f"no complaint with reference {reference}")
    return _row(row, actor, today)


def _row(r: dict[str, Any], actor: Actor, today: dt.date) -> ComplaintRow:
    matched = r["grid"] is not None
    return ComplaintRow(
        reference=r["reference"],
        received_on=r["received_on"],
        created_at=r["created_at"],
        uscc=r["uscc"],
        institution_name=r["institution_name"],
        registered_name=r["registered_name"],
        matched_by="uscc" if matched else ("name" if r["name_uscc"] else None),
        suggested_uscc=None if matched else r["name_uscc"],
        grid=r["grid"],
        text=r["text"],
        has_contact=bool(r["contact"]),
        contact=r["contact"],
        status=r["status"],
        triage_due=r["triage_due"],
        overdue=r["status"] == "new" and today > r["triage_due"],
        case_reference=r["case_reference"],
        reason=r["reason"],
        triaged_by=r["triaged_by"],
        triaged_at=r["triaged_at"],
        can_triage=r["status"] == "new" and _refusal(actor, r["reference"], r["grid"]) is None,
    )


def _require_read(actor: Actor) -> None:
    if not can(actor, Perm.STAFF_READ):
        raise Forbidden("only staff read the complaints inbox")


# ------------------------------------------------------------------------------------------ triage


def _refusal(actor: Actor, reference: str, grid: str | None) -> str | None:
    """Why ``actor`` may not triage (or match) the complaint, or ``None``. Officers act in their grids, and
    on any unmatched complaint (no grid yet); supervisors everywhere; administrators and auditors never."""
    if actor.is_system:
        return None
    if actor.role not in (Role.OFFICER, Role.SUPERVISOR) or not can(actor, Perm.CASE_WORK):
        return f"a {actor.role} does not triage complaints"
    if grid is not None and not in_grid(actor, grid):
        return f"complaint {reference} is about an institution in grid {grid}, not one of yours"
    return None


def _for_triage(session: Session, reference: str, actor: Actor) -> Complaint:
    """The complaint, locked, after checking that ``actor`` may triage it and that it is still new."""
    complaint = queries.complaint_for_update(session, reference)
    if complaint is None:
        raise NotFound(f"no complaint with reference {reference}")
    if actor.role not in (Role.OFFICER, Role.SUPERVISOR) and not actor.is_system:
        raise Forbidden(f"a {actor.role} does not triage complaints")
    if complaint.status != "new":
        raise Conflict(
            f"complaint {reference} is already {complaint.status}: it is triaged once", "already_triaged"
        )
    refusal = _refusal(actor, reference, complaint.grid)
    if refusal is not None:
        raise Forbidden(refusal)
    return complaint


def _triaged(
    session: Session,
    complaint: Complaint,
    status: str,
    actor: Actor,
    *,
    now: dt.datetime,
    case: Case | None = None,
    reason: str | None = None,
) -> None:
    if not queries.triage_complaint(
        session,
        complaint.id or 0,
        status=status,
        case_id=case.id if case else None,
        reason=reason,
        by=actor.name,
        at=now,
    ):
        raise Conflict(f"complaint {complaint.reference} was triaged by someone else", "already_triaged")
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action=f"triage:{status}",
        entity="complaint",
        key=complaint.reference,
        before={"status": "new"},
        after={"status": status, "case": case.reference if case else None, "reason": reason},
    )
    session.flush()
    session.refresh(complaint)


def triage_open_case(
    session: Session,
    reference: str,
    actor: Actor,
    *,
    basis: list[str],
    summary: str,
    now: dt.datetime,
    jurisdiction: str,
    operator_address: str | None = None,
    grid: str | None = None,
) -> Case:
    """Triage by opening a new case (source ``complaint``) about the complaint's institution; the complaint
    becomes ``opened`` and names the case. A complaint not matched to a registered institution opens a case
    about an unregistered operator: give its ``operator_address`` and ``grid``. Raises :class:`Conflict`
    (409) when the complaint was already triaged, :class:`Forbidden` outside the actor's grids,
    :class:`Invalid` listing every problem of the case."""
    complaint = _for_triage(session, reference, actor)
    matched = complaint.grid is not None
    if not matched and not operator_address:
        raise Invalid(
            f"complaint {reference} is not matched to a registered institution",
            [
                Problem(
                    "operator_address",
                    "match the complaint to an institution first, or name the operator's address and grid",
                )
            ],
        )
    case = open_case(
        session,
        CaseOpenIn(
            source="complaint",
            uscc=complaint.uscc if matched else None,
            operator_address=operator_address,
            grid=complaint.grid if matched else grid,
            basis=basis,
            summary=summary,
        ),
        actor,
        now=now,
        jurisdiction=jurisdiction,
    )
    _note(session, case, actor, now, f"opened from complaint {reference} (举报立案)", reference)
    _triaged(session, complaint, "opened", actor, now=now, case=case)
    return case


def triage_attach(
    session: Session, reference: str, case_reference: str, actor: Actor, *, now: dt.datetime
) -> Case:
    """Triage by attaching the complaint to an open case of the same institution (并案); the complaint
    becomes ``attached`` and the case records a note naming it. A complaint not matched to a registered
    institution may only join a case about an unregistered operator. Returns the case."""
    complaint = _for_triage(session, reference, actor)
    case = get_case(session, case_reference)
    problems: list[Problem] = []
    if case.state not in OPEN_STATES:
        problems.append(Problem("case_reference", f"case {case_reference} is {case.state}, not open"))
    if complaint.grid is not None and case.uscc != complaint.uscc:
        problems.append(
            Problem(
                "case_reference", f"case {case_reference} is about another institution than the complaint"
            )
        )
    if complaint.grid is None and case.uscc is not None:
        problems.append(
            Problem(
                "case_reference",
                "the complaint is not matched to a registered institution: match it first",
            )
        )
    if problems:
        raise Invalid(f"complaint {reference} cannot join case {case_reference}", problems)
    if not actor.is_system and not in_grid(actor, case.grid):
        raise Forbidden(f"case {case_reference} is in grid {case.grid}, not one of yours")
    _note(session, case, actor, now, f"complaint {reference} attached (举报并案)", reference)
    _triaged(session, complaint, "attached", actor, now=now, case=case)
    return case


def triage_reject(
    session: Session, reference: str, reason: str, actor: Actor, *, now: dt.datetime
) -> Complaint:
    """Triage by rejecting the complaint with a reason (see :data:`REJECT_REASONS`); the complainant reads
    the reason, so write it for them (no names, no internal notes)."""
    complaint = _for_triage(session, reference, actor)
    reason = reason.strip()
    if len(reason) < 2 or len(reason) > 500:
        raise Invalid("a rejection needs a reason", [Problem("reason", "between 2 and 500 characters")])
    _triaged(session, complaint, "rejected", actor, now=now, reason=reason)
    return complaint


def triage(
    session: Session, reference: str, data: TriageIn, actor: Actor, *, now: dt.datetime, jurisdiction: str
) -> ComplaintRow:
    """One triage decision from a form or the API (``data.action`` tells which); returns the complaint as the
    inbox now shows it."""
    if isinstance(data, TriageOpenIn):
        triage_open_case(
            session,
            reference,
            actor,
            basis=list(data.basis),
            summary=data.summary,
            now=now,
            jurisdiction=jurisdiction,
            operator_address=data.operator_address,
            grid=data.grid,
        )
    elif isinstance(data, TriageAttachIn):
        triage_attach(session, reference, data.case_reference, actor, now=now)
    else:
        assert isinstance(data, TriageRejectIn)
        triage_reject(session, reference, data.reason, actor, now=now)
    row = queries.inbox_row(session, reference)
    assert row is not None
    return _row(row, actor, business_date(now))


def _note(session: Session, case: Case, actor: Actor, now: dt.datetime, note: str, reference: str) -> None:
    casework.record_event(
        session, case.id or 0, actor.name, "note", note=note, data={"complaint": reference}, now=now
    )


# ------------------------------------------------------------------------------------------ matching


def match(session: Session, reference: str, uscc: str, actor: Actor, *, now: dt.datetime) -> Complaint:
    """Link a complaint that matched no registered institution to one (by credit code): it takes the
    institution's name and grid, and so reaches that grid's officers. The complaint's text is never
    altered. An officer matches only to an institution of their grids. Raises :class:`Conflict` when it is
    matched already."""
    complaint = queries.complaint_for_update(session, reference)
    if complaint is None:
        raise NotFound(f"no complaint with reference {reference}")
    uscc = uscc.strip().upper()
    doc = registry_queries.document(session, uscc) if is_well_formed(uscc) else None
    if doc is None:
        raise Invalid(
            f"complaint {reference} cannot be matched",
            [Problem("uscc", f"no institution is registered with credit code {uscc}")],
        )
    if complaint.grid is not None:
        raise Conflict(f"complaint {reference} is already matched to {complaint.uscc}", "already_matched")
    refusal = _refusal(actor, reference, doc["grid"])
    if refusal is not None:
        raise Forbidden(refusal)
    before = {"uscc": complaint.uscc, "institution_name": complaint.institution_name, "grid": None}
    if not queries.match_complaint(session, complaint.id or 0, uscc=uscc, name=doc["name"], grid=doc["grid"]):
        raise Conflict(f"complaint {reference} was matched by someone else", "already_matched")
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action="match",
        entity="complaint",
        key=reference,
        before=before,
        after={"uscc": uscc, "institution_name": doc["name"], "grid": doc["grid"]},
    )
    session.flush()
    session.refresh(complaint)
    return complaint


# ------------------------------------------------------------------------------------------ complainant


_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "received": ("已收到，等待处理", "Received, awaiting handling"),
    "being_handled": ("正在处理", "Being handled"),
    "concluded": ("已办结", "Concluded"),
}


def complainant_view(session: Session, reference: str) -> dict[str, Any]:
    """What the complainant sees at ``/complaints/{reference}`` (举报查询): ``received`` while awaiting
    triage; ``being_handled`` while its case is open; ``concluded`` with the public outcome (the decision
    made in the case, the case's outcome in plain words, or the reason for rejecting it). Chinese first,
    each text with an ``_en`` twin. Holds no staff names, internal notes, other complaints or the contact."""
    complaint = queries.complaint_by_reference(session, reference)
    if complaint is None:
        raise NotFound(f"no complaint with reference {reference}")
    status, outcome = _progress(session, complaint)
    zh, en = _STATUS_WORDS[status]
    view = ComplainantView(
        reference=complaint.reference,
        received_on=complaint.received_on,
        institution_name=complaint.institution_name,
        status=status,
        status_zh=zh,
        status_en=en,
        outcome_zh=outcome[0] if outcome else None,
        outcome_en=outcome[1] if outcome else None,
    )
    return view.model_dump(mode="json")


Progress = Literal["received", "being_handled", "concluded"]


def _progress(session: Session, complaint: Complaint) -> tuple[Progress, tuple[str, str] | None]:
    if complaint.status == "new":
        return "received", None
    if complaint.status == "rejected":
        reason = complaint.reason or ""
        return "concluded", (f"不予受理：{reason}", f"Not taken up: {reason}")
    case = queries.case_by_id(session, complaint.case_id or 0)
    if case is None:
        return "being_handled", None
    for _ in range(20):  # a merged case goes on in the case it was merged into
        if case.state != "merged" or case.merged_into_id is None:
            break
        target = queries.case_by_id(session, case.merged_into_id)
        if target is None:
            break
        case = target
    if case.state == "closed" and case.outcome == "not_rectified":
        follow = queries.case_following(session, case.id or 0)
        if follow is not None and follow.state in OPEN_STATES:
            return "being_handled", None
    if case.state in OPEN_STATES:
        return "being_handled", None
    return "concluded", _outcome_words(session, case)


def _outcome_words(session: Session, case: Case) -> tuple[str, str]:
    """The public outcome of a finished case, in plain words: the decision's public summary, else a fixed
    sentence (a dismissal's reason is an internal note and is not shown)."""
    decision = queries.by_id(session, case.decision_id) if case.decision_id else None
    if case.state == "dismissed" or (case.state == "merged" and decision is None):
        return (
            "经核查，未作出行政处罚，案件已办结。",
            "Looked into; no penalty was imposed and the case is closed.",
        )
    parts_zh: list[str] = []
    parts_en: list[str] = []
    if decision is not None:
        kind = decision["kind"]
        parts_zh.append(f"已作出处理决定（{KIND_ZH[kind]}）：{decision['summary']}")
        parts_en.append(f"A decision was made ({KIND_EN[kind]}): {decision['summary']}")
    if case.outcome == "rectified":
        parts_zh.append("经复查，机构已整改到位。")
        parts_en.append("On re-inspection the institution had put things right.")
    elif case.outcome == "not_rectified":
        parts_zh.append("机构逾期未整改，已依法跟进处理。")
        parts_en.append("The institution did not put things right in time; it was followed up.")
    if not parts_zh:
        parts_zh.append("案件已办结。")
        parts_en.append("The case is closed.")
    return "".join(parts_zh), " ".join(parts_en)
