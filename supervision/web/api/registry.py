"""Staff JSON API for the registry: create, replace, get, delete and search institutions by credit code."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response

from supervision.compliance import registry_changes
from supervision.core.pagination import Page, PageParams
from supervision.registry import service as registry
from supervision.web.deps import ClockDep, DbSession, Staff, actor

router = APIRouter(prefix="/api/v1/institutions", tags=["staff: registry"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"},
    404: {"description": "no such institution"},
    409: {"description": "already registered"},
    422: {"description": "invalid document: every problem listed with its field path"},
}

# The body is validated by the registry service (so the API, import and self-check share one validator and
# one error shape); the schema is still published for the documentation.
DocBody = Body(
    ...,
    description="An institution document (formats.md); unknown fields are rejected.",
    json_schema_extra={"type": "object"},
)


@router.get("", response_model=Page[dict[str, Any]], responses=ERRORS)
def search(
    user: Staff,
    session: DbSession,
    q: str | None = Query(None, max_length=100, description="name substring, credit code or licence number"),
    grid: str | None = None,
    category: Literal["subject", "non_subject"] | None = None,
    status: Literal["operating", "suspended", "closed"] | None = None,
    risk_tier: Literal["red", "yellow", "green"] | None = Query(None, description="the early-warning tier"),
    paging: PageParams = Depends(),
) -> Page[dict[str, Any]]:
    total, rows = registry.search(
        session,
        q=q,
        grid=grid,
        category=category,
        status=status,
        risk_tier=risk_tier,
        limit=paging.page_size,
        offset=paging.offset,
    )
    for r in rows:
        r.pop("id", None)
    return Page.of(rows, total, paging)


@router.post("", status_code=201, responses=ERRORS)
def create(user: Staff, session: DbSession, clock: ClockDep, doc: Any = DocBody) -> dict[str, Any]:
    _, stored = registry_changes.save_institution(
        session, doc, actor=actor(user), now=clock.now(), as_of=clock.today(), mode="create"
    )
    return stored


@router.get("/{uscc}", responses=ERRORS)
def get(uscc: str, user: Staff, session: DbSession) -> dict[str, Any]:
    return registry.get(session, uscc)


@router.put("/{uscc}", responses=ERRORS)
def replace(
    uscc: str, user: Staff, session: DbSession, clock: ClockDep, response: Response, doc: Any = DocBody
) -> dict[str, Any]:
    registry.check_path_matches(uscc, doc)
    outcome, stored = registry_changes.save_institution(
        session, doc, actor=actor(user), now=clock.now(), as_of=clock.today(), mode="upsert"
    )
    if outcome == "created":
        response.status_code = 201
    return stored


@router.delete("/{uscc}", status_code=204, responses=ERRORS)
def delete(uscc: str, user: Staff, session: DbSession, clock: ClockDep) -> None:
    registry_changes.delete_institution(session, uscc, actor=actor(user), now=clock.now())
