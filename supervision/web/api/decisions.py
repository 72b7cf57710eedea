"""Decisions (处理决定) for staff tools. A decision is proposed by one person and approved by another
(two-person rule): proposing one here opens a case for it (``manual``), and nothing is recorded — nor
public — until a second person approves it (a suspension, revocation or blacklisting is then first served
on the institution, and recorded after its statement period, in the case). Recorded decisions never change."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from supervision.accounts.permissions import actor_of
from supervision.cases import casework
from supervision.cases import service as cases
from supervision.cases.schemas import (
    ApproveIn,
    DecisionIn,
    DecisionOut,
    DecisionProposed,
    ProposalOut,
    ReturnIn,
)
from supervision.core.pagination import Page, PageParams
from supervision.web.deps import ClockDep, DbSession, PathId, SettingsDep, Staff

router = APIRouter(prefix="/api/v1/decisions", tags=["staff: decisions"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"},
    403: {"description": "the role or grid does not allow it, or the proposer tries to approve"},
    404: {"description": "no such decision or proposal"},
    409: {"description": "a duplicate reference, or the proposal is no longer awaiting approval"},
    422: {"description": "invalid decision: every problem listed with its field"},
}
Kind = Literal["warning", "rectification_order", "suspend_licence", "revoke_licence", "blacklist", "lift"]


@router.post("", status_code=202, response_model=DecisionProposed, responses=ERRORS)
def propose(
    body: DecisionIn, user: Staff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> DecisionProposed:
    """Propose a decision: it is checked whole now and recorded only once a second person approves it."""
    proposal = casework.propose_outside_case(
        session, body, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
    )
    case = casework.case_of_proposal(session, proposal)
    return DecisionProposed(
        proposal=ProposalOut.model_validate(proposal, from_attributes=True),
        case=casework.case_out(session, case, clock.today()),
    )


@router.get("/proposals", response_model=Page[ProposalOut], responses=ERRORS)
def proposals(
    user: Staff,
    session: DbSession,
    status: Literal["pending", "returned", "notified", "approved"] | None = None,
    uscc: str | None = Query(None, max_length=18),
    paging: PageParams = Depends(),
) -> Page[ProposalOut]:
    """Proposed decisions, newest first; ``pending`` ones await a second person."""
    total, rows = casework.search_proposals(
        session, status=status, uscc=uscc, limit=paging.page_size, offset=paging.offset
    )
    return Page.of(rows, total, paging)


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalOut, responses=ERRORS)
def approve(
    proposal_id: PathId,
    body: ApproveIn,
    user: Staff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> ProposalOut:
    """Approve someone else's proposal: a warning, rectification order or lift is recorded; a suspension,
    revocation or blacklisting (supervisors only) is served on the institution as a notice."""
    proposal = casework.approve_proposal(
        session,
        proposal_id,
        actor_of(user),
        version=body.version,
        now=clock.now(),
        jurisdiction=settings.jurisdiction,
    )
    return ProposalOut.model_validate(proposal, from_attributes=True)


@router.post("/proposals/{proposal_id}/return", response_model=ProposalOut, responses=ERRORS)
def return_(
    proposal_id: PathId, body: ReturnIn, user: Staff, session: DbSession, clock: ClockDep
) -> ProposalOut:
    """Return a proposal for more work (supervisors), with the reason."""
    proposal = casework.return_proposal_by_id(
        session, proposal_id, body.reason, actor_of(user), version=body.version, now=clock.now()
    )
    return ProposalOut.model_validate(proposal, from_attributes=True)


@router.get("", response_model=Page[DecisionOut], responses=ERRORS)
def search(
    user: Staff,
    session: DbSession,
    uscc: str | None = Query(None, max_length=18),
    kind: Kind | None = None,
    paging: PageParams = Depends(),
) -> Page[DecisionOut]:
    total, rows = cases.search_decisions(
        session, uscc=uscc, kind=kind, limit=paging.page_size, offset=paging.offset
    )
    return Page.of(rows, total, paging)


@router.get("/{decision_id}", response_model=DecisionOut, responses=ERRORS)
def get(decision_id: PathId, user: Staff, session: DbSession) -> DecisionOut:
    return cases.get_decision(session, decision_id)
