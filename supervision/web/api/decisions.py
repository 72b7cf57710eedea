"""Decisions (处理决定) for staff tools: record one, list them, read one. Recorded decisions never change."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from supervision.cases import service as cases
from supervision.cases.schemas import DecisionIn, DecisionOut
from supervision.core.pagination import Page, PageParams
from supervision.web.deps import ClockDep, DbSession, Staff, actor

router = APIRouter(prefix="/api/v1/decisions", tags=["staff: decisions"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"},
    404: {"description": "no such decision"},
    409: {"description": "a decision with this reference is already recorded"},
    422: {"description": "invalid decision: every problem listed with its field"},
}


@router.post("", status_code=201, response_model=DecisionOut, responses=ERRORS)
def record(
    user: Staff,
    session: DbSession,
    clock: ClockDep,
    body: DecisionIn,
) -> DecisionOut:
    """Record a decision. Licence decisions change the licence status; a ``lift`` ends an earlier decision.
    ``officer`` defaults to the signed-in officer's name."""
    return cases.record_decision(session, body, actor=actor(user), officer=user.display_name, now=clock.now())


@router.get("", response_model=Page[DecisionOut], responses=ERRORS)
def search(
    user: Staff,
    session: DbSession,
    uscc: str | None = Query(None, max_length=18),
    kind: Literal["warning", "rectification_order", "suspend_licence", "revoke_licence", "blacklist", "lift"]
    | None = None,
    paging: PageParams = Depends(),
) -> Page[DecisionOut]:
    total, rows = cases.search_decisions(
        session, uscc=uscc, kind=kind, limit=paging.page_size, offset=paging.offset
    )
    return Page.of(rows, total, paging)


@router.get("/{decision_id}", response_model=DecisionOut, responses=ERRORS)
def get(decision_id: int, user: Staff, session: DbSession) -> DecisionOut:
    return cases.get_decision(session, decision_id)
