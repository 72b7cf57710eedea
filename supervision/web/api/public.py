"""Public read API (parents and open data): public fields only — no teacher names, no account digits, no
complainant data — with each institution's current list status and why."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from supervision.core.pagination import Page, PageParams
from supervision.lists import search as public_lists
from supervision.web.deps import SettingsDep

router = APIRouter(prefix="/api/v1/public", tags=["public"])


@router.get("/institutions", response_model=Page[dict[str, Any]])
async def search(
    request: Request,
    q: str | None = Query(None, max_length=100, description="name substring, credit code or licence number"),
    grid: str | None = Query(None, max_length=50),
    category: Literal["subject", "non_subject"] | None = None,
    list_kind: Literal["white", "warning", "black"] | None = Query(
        None, alias="list", description="only institutions on the latest edition of this list"
    ),
    paging: PageParams = Depends(),
) -> Page[dict[str, Any]]:
    found = await public_lists.search(
        request.app.state.engine, q=q, grid=grid, category=category, list_kind=list_kind, paging=paging
    )
    return Page.of(found.items, found.total, paging, more=found.more)


@router.get("/institutions/{uscc}", responses={404: {"description": "no such institution"}})
async def institution(uscc: str, request: Request, settings: SettingsDep) -> dict[str, Any]:
    """The public record, its current list status with the grounds (rule IDs, titles, legal basis and the
    decision), its public decisions and its list history."""
    return await public_lists.institution_json(
        request.app.state.engine,
        uscc.upper(),
        today=request.app.state.clock.today(),
        jurisdiction=settings.jurisdiction,
    )
