"""Jinja2 templates shared by the public site, the portal and the console."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from supervision.core.clock import SHANGHAI
from supervision.settings import ROOT
from supervision.web import csrf

templates = Jinja2Templates(directory=ROOT / "templates")
# Templates ship with the release: not checked on disk at every render (three stat calls a page).
templates.env.auto_reload = False


def fen(value: int | None) -> str:
    """Integer fen as yuan with two decimals (¥1,234.50), exactly, without floats."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    yuan, cents = divmod(abs(value), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


templates.env.filters["fen"] = fen


def local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as Asia/Shanghai wall-clock time (instants are stored in UTC)."""
    return "—" if value is None else value.astimezone(SHANGHAI).strftime(fmt)


templates.env.filters["local"] = local


def locked_notice(until: dt.datetime) -> str:
    """The notice of a locked sign-in (登录已锁定): when to try again, in Beijing time."""
    return f"登录失败次数过多，已暂时锁定。请于 {local(until, '%m-%d %H:%M')}（北京时间）后再试。"


FORM_PAGES = ("/staff", "/portal")
"""Pages whose forms change something (the console, the portal, their sign-in and sign-out): every one of
them carries the CSRF token (``csrf_token``; the portal's templates call it ``csrf``)."""


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    if not request.url.path.startswith(FORM_PAGES):
        return templates.TemplateResponse(request, name, context, status_code=status_code)
    token = context.get("csrf_token") or context.get("csrf") or csrf.token(request)
    context = {**context, "csrf_token": token, "csrf": token}
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    csrf.attach(request, response, token)
    return response
