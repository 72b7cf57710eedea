"""Recording decisions (处理决定) and complaints (举报).

A decision is checked whole (every problem reported at once), stored once and never changed. Licence
decisions change the licence's status through the registry's own write path, so the registry keeps its audit
trail; lifting a licence decision restores the licence. The record does not depend on how it was made: the
API, the command line, the demo loader and (later) the case workflow all call :func:`record_decision`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from rules.uscc import is_well_formed
from supervision.cases import queries
from supervision.cases.models import Complaint, Decision
from supervision.cases.schemas import ComplaintIn, DecisionIn, DecisionOut
from supervision.core import audit, rulebook
from supervision.core.clock import business_date
from supervision.core.errors import Conflict, Invalid, NotFound, Problem, problems_from_pydantic
from supervision.lists.catalogue import known_ids
from supervision.registry import queries as registry_queries
from supervision.registry import service as registry
from supervision.settings import get_settings

LICENCE_EFFECT = {"suspend_licence": "suspended", "revoke_licence": "revoked"}
_REFERENCE_FORBIDDEN = (",", ";")


def parse_decision(raw: Any) -> DecisionIn:
    if not isinstance(raw, dict):
        raise Invalid("a decision must be a JSON object", [Problem("$", "not an object")])
    try:
        return DecisionIn.model_validate(raw)
    except ValidationError as exc:
        raise Invalid("the decision is not valid", problems_from_pydantic(exc.errors())) from None


@dataclass(frozen=True)
class CheckedDecision:
    """A decision that passed every check, with what storing it needs."""

    data: DecisionIn
    uscc: str
    doc: dict[str, Any]
    decided_on: dt.date
    effective_from: dt.date
    lifted: dict[str, Any] | None
    licence_change: str | None


def check_decision(session: Session, data: DecisionIn, *, now: dt.datetime) -> CheckedDecision:
    """Check a decision whole against the registry and the decisions on record, as of ``now``; raises
    :class:`Invalid` listing every problem. Used when a decision is proposed and again when it is stored."""
    today = business_date(now)
    problems: list[Problem] = []
    decided_on = data.decided_on or today
    effective_from = data.effective_from or decided_on
    uscc = data.uscc.strip().upper()
    doc: dict[str, Any] | None = None
    if not is_well_formed(uscc):
        problems.append(Problem("uscc", "not a well-formed unified social credit code (18 characters)"))
    else:
        doc = registry_queries.document(session, uscc)
        if doc is None:
            problems.append(Problem("uscc", f"no institution is registered with credit code {uscc}"))

    if data.reference is not None and (
        any(c.isspace() for c in data.reference) or any(c in data.reference for c in _REFERENCE_FORBIDDEN)
    ):
        problems.append(Problem("reference", "must not contain spaces, commas or semicolons"))
    unknown = [b for b in data.basis if b not in known_ids()]
    for b in unknown:
        problems.append(Problem("basis", f"{b} is not a rule or conduct ID of the catalogue"))
    if len(set(data.basis)) != len(data.basis):
        problems.append(Problem("basis", "an ID is listed twice"))
    if data.kind != "lift" and not data.basis:
        problems.append(Problem("basis", "name at least one rule or conduct ID the decision rests on"))

    if decided_on > today:
        problems.append(Problem("decided_on", f"is after today ({today})"))
    if effective_from < decided_on:
        problems.append(Problem("effective_from", "is before the decision date"))
    if data.kind == "rectification_order":
        if data.deadline is None:
            problems.append(Problem("deadline", "a rectification order needs a deadline"))
        elif data.deadline < effective_from:
            problems.append(Problem("deadline", "is before the order takes effect"))
    elif data.deadline is not None:
        problems.append(Problem("deadline", "only a rectification order has a deadline"))
    if data.kind == "blacklist":
        if data.until is not None and data.until < effective_from:
            problems.append(Problem("until", "is before the blacklisting starts"))
    elif data.until is not None:
        problems.append(Problem("until", "only a blacklisting has an end date (until)"))

    lifted: dict[str, Any] | None = None
    if data.kind == "lift":
        if not data.lifts:
            problems.append(Problem("lifts", "name the reference of the decision this lifts"))
        else:
            lifted = queries.by_reference(session, data.lifts)
            if lifted is None:
                problems.append(Problem("lifts", f"no decision with reference {data.lifts}"))
            elif lifted["uscc"] != uscc:
                problems.append(Problem("lifts", f"decision {data.lifts} is about another institution"))
            elif lifted["kind"] == "lift":
                problems.append(Problem("lifts", "a lift cannot itself be lifted; record a new decision"))
            elif lifted["lifted_by"]:
                problems.append(
                    Problem("lifts", f"decision {data.lifts} was already lifted by {lifted['lifted_by']}")
                )
            elif effective_from < lifted["effective_from"]:
                problems.append(Problem("effective_from", "is before the lifted decision took effect"))
    elif data.lifts is not None:
        problems.append(Problem("lifts", "only a lift names a decision it lifts"))

    licence_change: str | None = None
    licence_kind = data.kind if data.kind in LICENCE_EFFECT else None
    if lifted is not None and lifted["kind"] in LICENCE_EFFECT:
        licence_kind = lifted["kind"]
    if licence_kind and doc is not None:
        lic = doc["licence"]
        if effective_from > today:
            problems.append(Problem("effective_from", "a licence decision takes effect on or before today"))
        if lic is None:
            problems.append(Problem("kind", "the institution has no licence to suspend or revoke"))
        elif data.kind == "suspend_licence" and lic["status"] != "valid":
            problems.append(Problem("kind", f"the licence is {lic['status']}, not valid"))
        elif data.kind == "revoke_licence" and lic["status"] == "revoked":
            problems.append(Problem("kind", "the licence is already revoked"))
        elif data.kind == "lift" and lic["status"] == LICENCE_EFFECT[licence_kind]:
            licence_change = "valid"
        elif data.kind != "lift":
            licence_change = LICENCE_EFFECT[licence_kind]

    if problems:
        raise Invalid("the decision is not valid", problems)
    assert doc is not None
    if data.reference and queries.by_reference(session, data.reference) is not None:
        raise Conflict(
            f"a decision with reference {data.reference} is already recorded", "duplicate_reference"
        )
    return CheckedDecision(data, uscc, doc, decided_on, effective_from, lifted, licence_change)


def record_decision(
    session: Session,
    data: DecisionIn,
    *,
    actor: str,
    officer: str,
    now: dt.datetime,
    approved_by: str | None = None,
    case_id: int | None = None,
) -> DecisionOut:
    """Check and store one decision; apply its effect on the licence. Flushes; the caller commits.

    Only the case workflow calls this for a person's decision, once a second person approved it
    (:mod:`supervision.cases.casework`); the demo loader and tests call it directly."""
    checked = check_decision(session, data, now=now)
    uscc, doc, lifted = checked.uscc, checked.doc, checked.lifted
    decided_on, effective_from, licence_change = (
        checked.decided_on,
        checked.effective_from,
        checked.licence_change,
    )

    new_id = queries.next_decision_id(session)
    reference = data.reference or f"穗天教监〔{decided_on.year}〕{new_id}号"
    session.add(
        Decision(
            id=new_id,
            reference=reference,
            uscc=uscc,
            institution_name=doc["name"],
            kind=data.kind,
            basis=list(data.basis),
            summary=data.summary.strip(),
            decided_on=decided_on,
            effective_from=effective_from,
            deadline=data.deadline,
            until=data.until,
            lifts_id=lifted["id"] if lifted else None,
            officer=(data.officer or officer).strip(),
            recorded_by=actor,
            recorded_at=now,
            approved_by=approved_by,
            case_id=case_id,
        )
    )
    session.flush()
    if licence_change is not None:
        changed = dict(doc)
        changed["licence"] = {**doc["licence"], "status": licence_change}
        registry.save_documents(session, [registry.validate(changed)], actor=actor, now=now)
    stored = queries.by_id(session, new_id)
    assert stored is not None
    out = DecisionOut.model_validate(stored)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="record",
        entity="decision",
        key=reference,
        before=None,
        after={**out.model_dump(mode="json"), "licence_status": licence_change},
    )
    session.flush()
    return out


def get_decision(session: Session, decision_id: int) -> DecisionOut:
    row = queries.by_id(session, decision_id)
    if row is None:
        raise NotFound(f"no decision with id {decision_id}")
    return DecisionOut.model_validate(row)


# ------------------------------------------------------------------------------------------ complaints

_REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def parse_complaint(raw: dict[str, Any]) -> ComplaintIn:
    """Validate a complaint; blank optional fields count as absent. Raises :class:`Invalid` listing every
    problem."""
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
    cleaned = {k: v for k, v in cleaned.items() if v not in ("", None) or k == "text"}
    problems: list[Problem] = []
    uscc = cleaned.get("uscc")
    if isinstance(uscc, str):
        cleaned["uscc"] = uscc.upper()
        if not is_well_formed(cleaned["uscc"]):
            problems.append(Problem("uscc", "a unified social credit code has 18 letters and digits"))
    data: ComplaintIn | None = None
    try:
        data = ComplaintIn.model_validate(cleaned)
    except ValidationError as exc:
        problems.extend(p for p in problems_from_pydantic(exc.errors()) if p.loc != "uscc" or not problems)
    if problems or data is None:
        raise Invalid("the complaint is not complete", problems)
    return data


TRIAGE_DAYS = 3
"""``case.triage_days``: a complaint is triaged within 3 working days of receipt (enforcement.md)."""


def file_complaint(
    session: Session, data: ComplaintIn, *, now: dt.datetime, jurisdiction: str | None = None
) -> str:
    """Store a complaint and return its reference number (举报编号). Its triage deadline is counted in
    working days of the jurisdiction's calendar; a complaint naming a registered institution takes its
    grid (the inbox of that grid's officers)."""
    jurisdiction = jurisdiction or get_settings().jurisdiction
    received_on = business_date(now)
    day = business_date(now).strftime("%Y%m%d")
    while True:
        reference = f"JB{day}-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))
        if queries.complaint(session, reference) is None:
            break
    name = data.institution_name
    grid: str | None = None
    if data.uscc:
        doc = registry_queries.document(session, data.uscc)
        if doc is not None:
            name = name or doc["name"]
            grid = doc["grid"]
    session.add(
        Complaint(
            reference=reference,
            uscc=data.uscc,
            institution_name=name,
            text=data.text,
            contact=data.contact,
            created_at=now,
            received_on=received_on,
            triage_due=rulebook.add_working_days(jurisdiction, received_on, TRIAGE_DAYS),
            grid=grid,
            status="new",
        )
    )
    session.flush()
    return reference


def search_decisions(
    session: Session, *, uscc: str | None, kind: str | None, limit: int, offset: int
) -> tuple[int, list[DecisionOut]]:
    total, rows = queries.search(session, uscc=uscc, kind=kind, limit=limit, offset=offset)
    return total, [DecisionOut.model_validate(r) for r in rows]


def complaint(session: Session, reference: str) -> dict[str, Any]:
    row = queries.complaint(session, reference)
    if row is None:
        raise NotFound(f"no complaint with reference {reference}")
    return row


def prefill_complaint(session: Session, uscc: str) -> dict[str, str]:
    """The institution fields of a complaint form opened from an institution's page."""
    doc = registry_queries.document(session, uscc)
    return {"uscc": uscc, "institution_name": doc["name"] if doc else ""}
