"""The institutions' portal (机构服务)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from supervision.web.templating import render

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return render(request, "portal/index.html", {})
