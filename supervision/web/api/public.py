"""Public read API (parents and open data): public fields only — no teacher names, no account digits."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from supervision.core.pagination import Page, PageParams
from supervision.registry import public as public_registry
from supervision.web.deps import DbSession

router = APIRouter(prefix="/api/v1/public", tags=["public"])


@router.get("/institutions", response_model=Page[dict[str, Any]])
def search(
    session: DbSession,
    q: str | None = Query(None, max_length=100, description="name substring, credit code or licence number"),
    grid: str | None = Query(None, max_length=50),
    category: Literal["subject", "non_subject"] | None = None,
    paging: PageParams = Depends(),
) -> Page[dict[str, Any]]:
    total, items = public_registry.search(session, q=q, grid=grid, category=category, paging=paging)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/institutions/{uscc}", responses={404: {"description": "no such institution"}})
def institution(uscc: str, session: DbSession) -> dict[str, Any]:
    return public_registry.record(session, uscc)
