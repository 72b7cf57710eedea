"""The console officers live in (监管工作台): the dashboard, my work, cases, the complaints inbox and
inspections. Pages read through the case services; every form carries the console's CSRF token and a case
form the version the officer saw; a refused step shows the page again with every problem."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from supervision.accounts.models import StaffUser
from supervision.accounts.permissions import actor_of
from supervision.cases import casework, dashboard, inbox, inspections
from supervision.cases.schemas import (
    COMPLAINT_STATUS_ZH,
    KIND_ZH,
    STATE_ZH,
    CaseAction,
    CaseOpenIn,
    InspectionIn,
    TriageIn,
)
from supervision.compliance import service as compliance
from supervision.core.csvout import to_csv
from supervision.core.errors import DomainError, Invalid, problems_from_pydantic
from supervision.lists import catalogue
from supervision.registry import service as registry
from supervision.settings import Settings
from supervision.web import csrf
from supervision.web.deps import ClockDep, ConsoleStaff, DbSession, SettingsDep
from supervision.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)
PAGE = 50
_ACTION = TypeAdapter(CaseAction)
SOURCE_ZH = {
    "finding": "规则发现",
    "complaint": "举报",
    "inspection": "检查",
    "risk": "风险预警",
    "manual": "手工立案",
}


def _page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    token = csrf.token(request)
    response = render(
        request,
        template,
        {**context, "csrf_token": token, "states": STATE_ZH, "kinds": KIND_ZH, "sources": SOURCE_ZH},
        status_code=status_code,
    )
    csrf.attach(request, response, token)
    return response


async def _form(request: Request) -> dict[str, Any]:
    """The posted form (lists for repeated fields), after its CSRF token is checked."""
    form = await request.form()
    if not csrf.valid(request, str(form.get(csrf.FIELD) or "")):
        raise DomainError("csrf", "页面已过期，请刷新后再提交。", 403)
    out: dict[str, Any] = {}
    for key in form:
        values = [str(v).strip() for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if key in ("basis", "officers", "grids") else (values[0] if values else "")
    return out


def _csv(name: str, header: list[str], rows: list[list[Any]]) -> Response:
    return Response(
        to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _grids(settings: Settings) -> list[str]:
    return registry.grids(settings.jurisdiction)


# ------------------------------------------------------------------------------------------ dashboard


@router.get("", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    grid: str | None = Query(None, max_length=50),
) -> Response:
    """The dashboard (工作台) for the district or one grid, with its charts drawn on the server."""
    figures = dashboard.dashboard(
        session, today=clock.today(), grid=grid or None, jurisdiction=settings.jurisdiction
    )
    return _page(
        request,
        "staff/dashboard.html",
        {
            "user": user,
            "d": figures,
            "charts": dashboard.dashboard_charts(figures),
            "calendar": compliance.calendar_coverage(settings.jurisdiction, clock.today()),
            "grid": grid or "",
            "grids": _grids(settings),
            "my_grids": list(user.grids),
        },
    )


@router.get("/my-work", response_class=HTMLResponse)
def my_work(request: Request, user: ConsoleStaff, session: DbSession, clock: ClockDep) -> Response:
    """The signed-in officer's open cases and the complaints of their grids awaiting triage, most urgent
    first."""
    today = clock.today()
    actor = actor_of(user)
    _, mine = casework.search_cases(session, today=today, assigned_to=user.username, limit=200, offset=0)
    open_cases = [c for c in mine if c.state not in ("closed", "dismissed", "merged")]
    triage: list[Any] = []
    grids: list[str | None] = [*user.grids] or [None]
    for g in grids:
        _, rows = inbox.inbox(session, actor, status="new", grid=g, limit=200, offset=0, today=today)
        triage.extend(r for r in rows if r.can_triage)
    triage.sort(key=lambda r: (not r.overdue, r.triage_due))
    to_approve = casework.awaiting_approval_by(session, actor)
    to_assign: list[Any] = []
    if user.role == "supervisor":
        _, to_assign = casework.search_cases(session, today=today, state="new", limit=200, offset=0)
    return _page(
        request,
        "staff/my_work.html",
        {
            "user": user,
            "cases": open_cases,
            "triage": triage,
            "to_approve": to_approve,
            "to_assign": to_assign,
        },
    )


# ------------------------------------------------------------------------------------------ cases


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    grid: str | None = Query(None, max_length=50),
    state: str | None = Query(None, max_length=20),
    source: str | None = Query(None, max_length=20),
    overdue: bool | None = Query(None),
    uscc: str | None = Query(None, max_length=18),
    page: int = Query(1, ge=1, le=100000),
    format: str | None = Query(None, pattern="^csv$"),
) -> Response:
    """Cases, overdue first; filters by grid, state, source and overdue; CSV with the same filters."""
    filters: dict[str, Any] = {
        "grid": grid or None,
        "state": state or None,
        "source": source or None,
        "overdue": overdue,
    }
    if format == "csv":
        _, rows = casework.search_cases(
            session, today=clock.today(), uscc=uscc, limit=10000, offset=0, **filters
        )
        return _csv(
            "cases",
            [
                "案号",
                "机构",
                "信用代码",
                "街道",
                "来源",
                "状态",
                "依据",
                "立案日期",
                "决定期限",
                "逾期",
                "承办人",
            ],
            [
                [
                    c.reference,
                    c.institution_name or c.operator_address,
                    c.uscc,
                    c.grid,
                    SOURCE_ZH[c.source],
                    STATE_ZH[c.state],
                    c.basis,
                    c.opened_on,
                    c.decide_by,
                    "是" if c.overdue else "",
                    c.assigned_to,
                ]
                for c in rows
            ],
        )
    total, rows = casework.search_cases(
        session, today=clock.today(), uscc=uscc, limit=PAGE, offset=(page - 1) * PAGE, **filters
    )
    return _page(
        request,
        "staff/cases.html",
        {
            "user": user,
            "rows": rows,
            "total": total,
            "page": page,
            "page_size": PAGE,
            "f": {**filters, "uscc": uscc or ""},
            "grids": _grids(settings),
            "rules": catalogue.negative_list(settings.jurisdiction, clock.today()),
            "query": request.url.query,
        },
    )


@router.post("/cases", response_class=HTMLResponse)
async def open_case(
    request: Request, user: ConsoleStaff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Open a case by hand (立案)."""
    try:
        form = await _form(request)
        data = CaseOpenIn.model_validate(
            {k: v for k, v in form.items() if v not in ("", []) and k != csrf.FIELD}
        )
        case = casework.open_case(
            session, data, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
        )
    except (DomainError, ValidationError) as err:
        session.rollback()
        return _error_page(request, user, err)
    return RedirectResponse(f"/staff/cases/{case.reference}", status_code=303)


@router.get("/cases/{reference}", response_class=HTMLResponse)
def case_page(
    reference: str,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _case(request, user, session, clock, settings, reference)


def _case(
    request: Request,
    user: StaffUser,
    session: DbSession,
    clock: ClockDep,
    settings: Settings,
    reference: str,
    *,
    error: DomainError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = casework.case_detail(session, reference, clock.today())
    officers = [u for u in _case_workers(session) if detail.case.grid in u.grids or u.role == "supervisor"]
    return _page(
        request,
        "staff/case.html",
        {
            "user": user,
            "d": detail,
            "c": detail.case,
            "error": error,
            "officers": officers,
            "risk": registry.risk(session, detail.case.uscc) if detail.case.uscc else None,
            "rules": catalogue.negative_list(settings.jurisdiction, clock.today()),
            "today": clock.today(),
        },
        status_code=status_code,
    )


def _case_workers(session: DbSession) -> list[StaffUser]:
    from supervision.accounts import service as accounts

    return [u for u in accounts.list_users(session) if u.active and u.role in ("officer", "supervisor")]


@router.post("/cases/{reference}/actions", response_class=HTMLResponse)
async def case_action(
    reference: str,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """One step of case work from the case page's forms."""
    try:
        form = await _form(request)
        body: dict[str, Any] = {k: v for k, v in form.items() if k != csrf.FIELD and v not in ("", [])}
        if body.get("action") == "propose":
            body["proposal"] = {
                k: body.pop(k)
                for k in ("kind", "basis", "summary", "deadline", "until", "lifts")
                if k in body
            }
        action = _ACTION.validate_python(body)
        casework.act(
            session, reference, action, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
        )
    except (DomainError, ValidationError) as err:
        session.rollback()
        problem = _problem(err)
        return _case(
            request, user, session, clock, settings, reference, error=problem, status_code=problem.status
        )
    return RedirectResponse(f"/staff/cases/{reference}", status_code=303)


def _problem(err: DomainError | ValidationError) -> DomainError:
    """A refused form's problem: the domain error, or a form that did not parse, with every field named."""
    if isinstance(err, DomainError):
        return err
    return Invalid("表单填写不完整", problems_from_pydantic(err.errors()))


def _error_page(request: Request, user: StaffUser, err: DomainError | ValidationError) -> HTMLResponse:
    problem = _problem(err)
    return render(request, "errors/error.html", {"error": problem, "user": user}, status_code=problem.status)


# ------------------------------------------------------------------------------------------ complaints


@router.get("/complaints", response_class=HTMLResponse)
def complaints_page(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    status: str | None = Query(None, max_length=20),
    grid: str | None = Query(None, max_length=50),
    overdue: bool | None = Query(None),
    page: int = Query(1, ge=1, le=100000),
    format: str | None = Query(None, pattern="^csv$"),
) -> Response:
    """The complaints inbox: awaiting triage first by deadline; CSV with the same filters."""
    actor = actor_of(user)
    filters: dict[str, Any] = {"status": status or None, "grid": grid or None, "overdue": overdue}
    if format == "csv":
        _, rows = inbox.inbox(session, actor, limit=200, offset=0, today=clock.today(), **filters)
        return _csv(
            "complaints",
            ["编号", "收到日期", "机构", "信用代码", "街道", "状态", "分办期限", "逾期", "案号", "内容"],
            [
                [
                    r.reference,
                    r.received_on,
                    r.registered_name or r.institution_name,
                    r.uscc,
                    r.grid,
                    COMPLAINT_STATUS_ZH[r.status],
                    r.triage_due,
                    "是" if r.overdue else "",
                    r.case_reference,
                    r.text,
                ]
                for r in rows
            ],
        )
    total, rows = inbox.inbox(
        session, actor, limit=PAGE, offset=(page - 1) * PAGE, today=clock.today(), **filters
    )
    return _page(
        request,
        "staff/complaints.html",
        {
            "user": user,
            "rows": rows,
            "total": total,
            "page": page,
            "page_size": PAGE,
            "f": filters,
            "grids": _grids(settings),
            "statuses": COMPLAINT_STATUS_ZH,
            "query": request.url.query,
        },
    )


@router.get("/complaints/{reference}", response_class=HTMLResponse)
def complaint_page(
    reference: str,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _complaint(request, user, session, clock, settings, reference)


def _complaint(
    request: Request,
    user: StaffUser,
    session: DbSession,
    clock: ClockDep,
    settings: Settings,
    reference: str,
    *,
    error: DomainError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    row = inbox.complaint_row(session, reference, actor_of(user), today=clock.today())
    open_cases: list[Any] = []
    if row.uscc:
        _, found = casework.search_cases(session, today=clock.today(), uscc=row.uscc, limit=50, offset=0)
        open_cases = [c for c in found if c.state not in ("closed", "dismissed", "merged")]
    return _page(
        request,
        "staff/complaint.html",
        {
            "user": user,
            "r": row,
            "open_cases": open_cases,
            "reasons": inbox.REJECT_REASONS,
            "rules": catalogue.negative_list(settings.jurisdiction, clock.today()),
            "grids": _grids(settings),
            "statuses": COMPLAINT_STATUS_ZH,
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/complaints/{reference}/{step}", response_class=HTMLResponse)
async def complaint_step(
    reference: str,
    step: str,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Triage a complaint (open a case, attach it, reject it) or match it to a registered institution."""
    try:
        form = await _form(request)
        body = {k: v for k, v in form.items() if k != csrf.FIELD and v not in ("", [])}
        if step == "match":
            inbox.match(
                session, reference, str(body.get("uscc", "")).upper(), actor_of(user), now=clock.now()
            )
        elif step == "triage":
            data = TypeAdapter(TriageIn).validate_python(body)
            inbox.triage(
                session, reference, data, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
            )
        else:
            raise DomainError("not_found", f"no step {step}", 404)
    except (DomainError, ValidationError) as err:
        session.rollback()
        problem = _problem(err)
        return _complaint(
            request, user, session, clock, settings, reference, error=problem, status_code=problem.status
        )
    return RedirectResponse(f"/staff/complaints/{reference}", status_code=303)


# ------------------------------------------------------------------------------------------ inspections


@router.get("/inspections", response_class=HTMLResponse)
def inspections_page(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    grid: str | None = Query(None, max_length=50),
    uscc: str | None = Query(None, max_length=18),
    page: int = Query(1, ge=1, le=100000),
    format: str | None = Query(None, pattern="^csv$"),
) -> Response:
    if format == "csv":
        _, rows = inspections.list_inspections(
            session, uscc=uscc or None, grid=grid or None, limit=200, offset=0
        )
        return _csv(
            "inspections",
            ["编号", "检查日期", "机构", "信用代码", "地址", "街道", "检查人员", "不合格项", "案号"],
            [
                [
                    i.reference,
                    i.inspected_on,
                    i.institution_name,
                    i.uscc,
                    i.address,
                    i.grid,
                    i.officers,
                    [it.title for it in i.items if it.result == "fail"],
                    i.case_reference,
                ]
                for i in rows
            ],
        )
    total, rows = inspections.list_inspections(
        session, uscc=uscc or None, grid=grid or None, limit=PAGE, offset=(page - 1) * PAGE
    )
    return _page(
        request,
        "staff/inspections.html",
        {
            "user": user,
            "rows": rows,
            "total": total,
            "page": page,
            "page_size": PAGE,
            "f": {"grid": grid or "", "uscc": uscc or ""},
            "grids": _grids(settings),
            "coverage": inspections.coverage(session, clock.today()),
            "query": request.url.query,
        },
    )


@router.get("/inspections/new", response_class=HTMLResponse)
def new_inspection(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    uscc: str | None = Query(None, max_length=18),
) -> Response:
    return _new_inspection(
        request, user, session, clock, settings, {"uscc": uscc or "", "officers": [user.username]}
    )


def _new_inspection(
    request: Request,
    user: StaffUser,
    session: DbSession,
    clock: ClockDep,
    settings: Settings,
    values: dict[str, Any],
    error: DomainError | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "staff/inspection_new.html",
        {
            "user": user,
            "items": inspections.checklist(),
            "values": values,
            "error": error,
            "today": clock.today(),
            "grids": _grids(settings),
            "officers": _case_workers(session),
        },
        status_code=error.status if error else 200,
    )


@router.post("/inspections", response_class=HTMLResponse)
async def record_inspection(
    request: Request, user: ConsoleStaff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Record an inspection from the checklist form, with an optional evidence file."""
    form = await request.form()
    values: dict[str, Any] = {
        k: str(form.get(k) or "").strip() for k in ("uscc", "address", "grid", "inspected_on", "note")
    }
    values["officers"] = [str(o) for o in form.getlist("officers") if str(o).strip()]
    answers = [
        {
            "code": item.code,
            "result": str(form.get(f"result-{item.code}") or ""),
            "note": str(form.get(f"note-{item.code}") or "").strip() or None,
        }
        for item in inspections.checklist()
    ]
    values["answers"] = {a["code"]: a for a in answers}
    upload = form.get("file")
    try:
        if not csrf.valid(request, str(form.get(csrf.FIELD) or "")):
            raise DomainError("csrf", "页面已过期，请刷新后再提交。", 403)
        data = InspectionIn.model_validate(
            {
                **{
                    k: v
                    for k, v in values.items()
                    if k in ("uscc", "address", "grid", "inspected_on", "note") and v
                },
                "officers": values["officers"],
                "items": [{k: v for k, v in a.items() if v is not None} for a in answers],
            }
        )
        record = inspections.record_inspection(
            session, data, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
        )
        if upload is not None and not isinstance(upload, str) and upload.filename:
            content = await upload.read(settings.inspection_max_file_bytes + 1)
            inspections.attach_file(
                session,
                "inspection",
                record.id or 0,
                upload.filename,
                content,
                actor_of(user),
                now=clock.now(),
            )
    except (DomainError, ValidationError) as err:
        session.rollback()
        problem = _problem(err)
        return _new_inspection(request, user, session, clock, settings, values, problem)
    finally:
        await form.close()
    return RedirectResponse(f"/staff/inspections/{record.reference}", status_code=303)


@router.get("/inspections/{reference}", response_class=HTMLResponse)
def inspection_page(reference: str, request: Request, user: ConsoleStaff, session: DbSession) -> Response:
    record = inspections.get_inspection(session, reference)
    files = inspections.attachments(session, "inspection", record.id)
    return _page(request, "staff/inspection.html", {"user": user, "i": record, "files": files})


@router.get("/attachments/{attachment_id}")
def attachment(attachment_id: int, user: ConsoleStaff, session: DbSession) -> Response:
    """An evidence file, for staff only (never public)."""
    from urllib.parse import quote

    meta, content = inspections.attachment_content(session, attachment_id, actor_of(user))
    return Response(
        content,
        media_type=meta.content_type,
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(meta.filename, safe='')}"},
    )
