"""The parents' website (家长查询): search and the public institution page."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from supervision.core.pagination import PageParams
from supervision.registry import public as public_registry
from supervision.web.deps import DbSession
from supervision.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    session: DbSession,
    q: str | None = Query(None, max_length=100),
    grid: str | None = Query(None, max_length=50),
    category: Literal["subject", "non_subject", ""] | None = None,
) -> HTMLResponse:
    searched = bool(q or grid or category)
    total, items = 0, []
    if searched:
        total, items = public_registry.search(
            session, q=q, grid=grid or None, category=category or None, paging=PageParams(page_size=50)
        )
    return render(
        request,
        "public/index.html",
        {
            "q": q,
            "grid": grid,
            "category": category,
            "grids": public_registry.grids(session),
            "searched": searched,
            "total": total,
            "items": items,
        },
    )


@router.get("/institutions/{uscc}", response_class=HTMLResponse)
def institution(uscc: str, request: Request, session: DbSession) -> HTMLResponse:
    return render(request, "public/institution.html", {"doc": public_registry.record(session, uscc)})
