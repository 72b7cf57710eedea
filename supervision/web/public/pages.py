"""The parents' website (家长查询): search and the public institution page."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from supervision.core.pagination import PageParams
from supervision.lists import catalogue
from supervision.lists import search as public_lists
from supervision.registry import service as registry
from supervision.web.deps import SettingsDep
from supervision.web.public.common import page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


@router.get("/", response_class=HTMLResponse)
async def index(
    request: Request,
    settings: SettingsDep,
    q: str | None = Query(None, max_length=100),
    grid: str | None = Query(None, max_length=50),
    category: Literal["subject", "non_subject", ""] | None = None,
    list_kind: Literal["white", "warning", "black", ""] | None = Query(None, alias="list"),
    page_no: int = Query(1, alias="page", ge=1, le=500),
) -> HTMLResponse:
    """Search, awaited on the event loop like the institution page (see ``lists.search.search``)."""
    engine = request.app.state.engine
    searched = bool(q or grid or category or list_kind)
    found = public_lists.SearchResult(0, False, [])
    if searched:
        found = await public_lists.search(
            engine,
            q=q,
            grid=grid or None,
            category=category or None,
            list_kind=list_kind or None,
            paging=PageParams(page=page_no, page_size=PAGE_SIZE),
        )
    return page(
        request,
        "public/index.html",
        {
            "q": q,
            "grid": grid,
            "category": category,
            "list_kind": list_kind,
            "grids": registry.grids(settings.jurisdiction),
            "searched": searched,
            "total": found.total,
            "more": found.more,
            "items": found.items,
            "page_no": page_no,
            "page_size": PAGE_SIZE,
            "rules": catalogue.by_id(settings.jurisdiction, request.app.state.clock.today()),
        },
    )


@router.get("/institutions/{uscc}", response_class=HTMLResponse)
async def institution(uscc: str, request: Request, settings: SettingsDep) -> HTMLResponse:
    """The most requested page: one statement awaited on the event loop (see ``lists.readpool``)."""
    today = request.app.state.clock.today()
    doc = await public_lists.institution(
        request.app.state.engine, uscc.upper(), today=today, jurisdiction=settings.jurisdiction
    )
    return page(
        request,
        "public/institution.html",
        {"doc": doc, "today": today, "rules": catalogue.by_id(settings.jurisdiction, today)},
    )
