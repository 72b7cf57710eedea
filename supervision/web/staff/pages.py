"""The enforcement console (监管工作台): sign-in and the registry."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supervision.accounts import service as accounts
from supervision.accounts.permissions import actor_of
from supervision.cases import casework
from supervision.cases.schemas import KIND_ZH, STATE_ZH
from supervision.compliance import service as compliance
from supervision.core.pagination import MAX_PAGE
from supervision.registry import service as registry
from supervision.web.deps import ClockDep, ConsoleStaff, DbSession, SettingsDep, client_address, staff_token
from supervision.web.sessions import STAFF
from supervision.web.templating import locked_notice, render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return render(request, "staff/login.html", {})


LOGIN_REFUSED = {
    "unauthorized": "用户名或密码不正确。",
    "unavailable": "登录请求较多，请稍后再试。",
}


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    username: str = Form(..., max_length=100),
    password: str = Form(..., max_length=1000),
) -> Response:
    hours = settings.staff_session_hours
    outcome = accounts.login(
        session,
        username=username,
        password=password,
        now=clock.now(),
        hours=hours,
        address=client_address(request),
        policy=accounts.SignInPolicy.of(settings),
    )
    err = outcome.refusal
    if err is not None:
        notice = (
            locked_notice(err.until) if isinstance(err, accounts.SignInLocked) else LOGIN_REFUSED[err.code]
        )
        response: Response = render(
            request, "staff/login.html", {"error": notice, "username": username}, status_code=err.status
        )
        response.headers.update(err.headers())
        return response
    assert outcome.token is not None
    response = RedirectResponse("/staff", status_code=303)
    STAFF.attach(request, response, outcome.token, hours)
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, clock: ClockDep) -> Response:
    token = staff_token(request)
    if token:
        accounts.logout(session, token, clock.now())
    response = RedirectResponse("/staff/login", status_code=303)
    STAFF.clear(request, response)
    return response


@router.get("/institutions", response_class=HTMLResponse)
def institutions(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    q: str | None = Query(None, max_length=100),
    grid: str | None = Query(None, max_length=50),
    risk_tier: Literal["red", "yellow", "green"] | None = None,
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    page_size = 50
    total, items = registry.search(
        session,
        q=q,
        grid=grid or None,
        category=None,
        status=None,
        risk_tier=risk_tier,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    total_all = registry.count(session)
    return render(
        request,
        "staff/institutions.html",
        {
            "user": user,
            "q": q,
            "grid": grid,
            "grids": registry.grids(settings.jurisdiction),
            "risk_tier": risk_tier,
            "query": request.url.query,
            "items": items,
            "total": total,
            "total_all": total_all,
            "page": page,
            "page_size": page_size,
        },
    )


@router.get("/institutions/{uscc}", response_class=HTMLResponse)
def institution(
    uscc: str,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Everything about one institution on one readable page."""
    record = casework.institution_record(session, uscc, actor_of(user), today=clock.today())
    return render(
        request,
        "staff/institution.html",
        {
            "user": user,
            **record,
            "rules": compliance.rule_titles(clock.today(), jurisdiction=settings.jurisdiction),
            "states": STATE_ZH,
            "kinds": KIND_ZH,
            "today": clock.today(),
        },
    )
