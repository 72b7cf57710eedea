"""Console pages for decisions (处理决定) and list publication (名单发布)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supervision.accounts.models import StaffUser
from supervision.accounts.permissions import actor_of
from supervision.cases import casework
from supervision.cases import service as cases
from supervision.cases.schemas import KIND_ZH
from supervision.core import jobs
from supervision.core.errors import DomainError
from supervision.core.pagination import MAX_PAGE
from supervision.lists import catalogue
from supervision.lists import service as lists
from supervision.settings import Settings
from supervision.web import csrf
from supervision.web.deps import (
    AsOfDate,
    ClockDep,
    ConsoleStaff,
    DbSession,
    ListDateWindow,
    SettingsDep,
    actor,
)
from supervision.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)

DECISION_FIELDS = (
    "uscc",
    "kind",
    "reference",
    "summary",
    "decided_on",
    "effective_from",
    "deadline",
    "until",
    "lifts",
    "officer",
)


def _decisions_page(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: Settings,
    user: StaffUser,
    *,
    uscc: str | None,
    page: int,
    values: dict[str, Any] | None = None,
    error: DomainError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    page_size = 50
    total, rows = cases.search_decisions(
        session, uscc=uscc or None, kind=None, limit=page_size, offset=(page - 1) * page_size
    )
    _, pending = casework.search_proposals(session, status="pending", uscc=uscc or None, limit=50, offset=0)
    _, noticed = casework.search_proposals(session, status="notified", uscc=uscc or None, limit=50, offset=0)
    token = csrf.token(request)
    rules = catalogue.negative_list(settings.jurisdiction, clock.today())
    response = render(
        request,
        "staff/decisions.html",
        {
            "user": user,
            "rows": rows,
            "total": total,
            "pending": pending,
            "noticed": noticed,
            "page": page,
            "page_size": page_size,
            "uscc": uscc,
            "values": values or {"uscc": uscc or "", "basis": []},
            "error": error,
            "kinds": KIND_ZH,
            "rules": rules,
            "csrf_token": token,
            "today": clock.today(),
        },
        status_code=status_code,
    )
    csrf.attach(request, response, token)
    return response


@router.get("/decisions", response_class=HTMLResponse)
def decisions(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    uscc: str | None = Query(None, max_length=18),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    return _decisions_page(request, session, clock, settings, user, uscc=uscc, page=page)


@router.post("/decisions", response_class=HTMLResponse)
async def propose_decision(
    request: Request, user: ConsoleStaff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Propose a decision; a second person approves it below (two-person rule)."""
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in DECISION_FIELDS}
    values["basis"] = [str(b) for b in form.getlist("basis")]
    if not csrf.valid(request, str(form.get(csrf.FIELD) or "")):
        err = DomainError("csrf", "页面已过期，请再次提交（填写的内容已保留）。", 403)
        return _decisions_page(
            request,
            session,
            clock,
            settings,
            user,
            uscc=None,
            page=1,
            values=values,
            error=err,
            status_code=403,
        )
    raw = {k: v for k, v in values.items() if v not in ("", [])}
    raw.setdefault("basis", [])
    try:
        data = cases.parse_decision(raw)
        proposal = casework.propose_outside_case(
            session, data, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
        )
    except DomainError as err:
        session.rollback()
        return _decisions_page(
            request,
            session,
            clock,
            settings,
            user,
            uscc=None,
            page=1,
            values=values,
            error=err,
            status_code=err.status,
        )
    return RedirectResponse(f"/staff/decisions?uscc={proposal.uscc}#proposals", status_code=303)


@router.post("/decisions/proposals/{proposal_id}/{step}", response_class=HTMLResponse)
async def proposal_step(
    proposal_id: int,
    step: Literal["approve", "return"],
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Approve or return a proposed decision (a second person; a supervisor for the serious kinds)."""
    form = await request.form()
    if not csrf.valid(request, str(form.get(csrf.FIELD) or "")):
        err = DomainError("csrf", "页面已过期，请再次提交。", 403)
        return _decisions_page(
            request, session, clock, settings, user, uscc=None, page=1, error=err, status_code=403
        )
    try:
        if step == "approve":
            casework.approve_proposal(
                session,
                proposal_id,
                actor_of(user),
                version=None,
                now=clock.now(),
                jurisdiction=settings.jurisdiction,
            )
        else:
            reason = str(form.get("reason") or "").strip()
            casework.return_proposal_by_id(
                session, proposal_id, reason, actor_of(user), version=None, now=clock.now()
            )
    except DomainError as err:
        session.rollback()
        return _decisions_page(
            request, session, clock, settings, user, uscc=None, page=1, error=err, status_code=err.status
        )
    return RedirectResponse("/staff/decisions#proposals", status_code=303)


@router.get("/lists", response_class=HTMLResponse)
def lists_page(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    day: AsOfDate,
    published: str | None = Query(None, max_length=200),
) -> Response:
    token = csrf.token(request)
    response = render(
        request,
        "staff/lists.html",
        {
            "user": user,
            "latest": lists.latest_all(session),
            "editions": lists.editions(session, None, limit=30, offset=0)[1],
            "preview": lists.preview(session, day),
            "as_of": day,
            "runs": jobs.recent(session, 30),
            "published": published,
            "csrf_token": token,
        },
    )
    csrf.attach(request, response, token)
    return response


@router.post("/lists/publish")
async def publish(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    window: ListDateWindow,
) -> Response:
    form = await request.form()
    if not csrf.valid(request, str(form.get(csrf.FIELD) or "")):
        return RedirectResponse("/staff/lists?published=expired", status_code=303)
    try:
        as_of = dt.date.fromisoformat(str(form.get("as_of") or clock.today().isoformat()))
    except ValueError:
        return RedirectResponse("/staff/lists?published=bad-date", status_code=303)
    kinds = [str(k) for k in form.getlist("kind")] or None
    outcomes = lists.publish(
        session,
        as_of=as_of,
        now=clock.now(),
        actor=actor(user),
        jurisdiction=settings.jurisdiction,
        kinds=kinds,
        window=window,
    )
    summary = ",".join(f"{o.kind}:{o.status}:{o.seq or ''}" for o in outcomes)
    return RedirectResponse(f"/staff/lists?published={summary}", status_code=303)
