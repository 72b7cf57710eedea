"""The officers' case work as JSON (案件、举报、检查、工作台): cases and their steps, the complaints inbox,
inspections with their evidence files, and the dashboard. Who may do what is checked by the services (roles,
grids, the two-person rule); every answer that is not a success is the usual error body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from supervision.accounts.permissions import actor_of
from supervision.cases import casework, dashboard, inbox, inspections
from supervision.cases.schemas import (
    AttachmentOut,
    CaseAction,
    CaseDetail,
    CaseOpenIn,
    CaseOut,
    CaseSource,
    CaseState,
    ComplaintRow,
    ComplaintStatus,
    Dashboard,
    InspectionIn,
    InspectionOut,
    MatchIn,
    TriageIn,
)
from supervision.core.pagination import Page, PageParams
from supervision.web.deps import ClockDep, DbSession, PathId, SettingsDep, Staff
from supervision.web.uploads import read_file_upload

router = APIRouter(tags=["staff: case work"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"},
    403: {"description": "the role or the grid does not allow it, or the two-person rule"},
    404: {"description": "no such case, complaint, inspection or file"},
    409: {"description": "the case or complaint was changed by someone else, or the step is not allowed now"},
    413: {"description": "a file larger than allowed"},
    422: {"description": "invalid input: every problem listed with its field"},
}
Grid = Annotated[str | None, Query(max_length=50, description="a grid (街道) of the jurisdiction")]


# ------------------------------------------------------------------------------------------ cases


@router.get("/api/v1/cases", response_model=Page[CaseOut], responses=ERRORS)
def cases(
    user: Staff,
    session: DbSession,
    clock: ClockDep,
    grid: Grid = None,
    state: CaseState | None = None,
    source: CaseSource | None = None,
    overdue: bool | None = None,
    assigned_to: str | None = Query(None, max_length=100, description="a username"),
    uscc: str | None = Query(None, max_length=18),
    paging: PageParams = Depends(),
) -> Page[CaseOut]:
    """Cases, overdue first, then by decision deadline."""
    total, rows = casework.search_cases(
        session,
        today=clock.today(),
        grid=grid,
        state=state,
        source=source,
        overdue=overdue,
        assigned_to=assigned_to,
        uscc=uscc,
        limit=paging.page_size,
        offset=paging.offset,
    )
    return Page.of(rows, total, paging)


@router.post("/api/v1/cases", status_code=201, response_model=CaseDetail, responses=ERRORS)
def open_case(
    body: CaseOpenIn, user: Staff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> CaseDetail:
    """Open a case (立案) about a registered institution or an unregistered operator (address and grid)."""
    case = casework.open_case(
        session, body, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
    )
    return casework.case_detail(session, case.reference, clock.today())


@router.get("/api/v1/cases/{reference}", response_model=CaseDetail, responses=ERRORS)
def case(reference: str, user: Staff, session: DbSession, clock: ClockDep) -> CaseDetail:
    """A case with its whole record: events, proposals, notices, statements, answers and files."""
    return casework.case_detail(session, reference, clock.today())


@router.post("/api/v1/cases/{reference}/actions", response_model=CaseDetail, responses=ERRORS)
def case_action(
    reference: str,
    body: Annotated[CaseAction, Body()],
    user: Staff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
) -> CaseDetail:
    """One step of case work (assign, start, note, propose, approve, return, answer, decide, reconsider,
    close, dismiss, merge), with the case version the person saw."""
    casework.act(
        session, reference, body, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
    )
    return casework.case_detail(session, reference, clock.today())


# ------------------------------------------------------------------------------------------ complaints


@router.get("/api/v1/complaints", response_model=Page[ComplaintRow], responses=ERRORS)
def complaints(
    user: Staff,
    session: DbSession,
    clock: ClockDep,
    status: ComplaintStatus | None = None,
    grid: Grid = None,
    overdue: bool | None = None,
    uscc: str | None = Query(None, max_length=18),
    paging: PageParams = Depends(),
) -> Page[ComplaintRow]:
    """The complaints inbox: awaiting triage first by deadline, then the rest newest first."""
    total, rows = inbox.inbox(
        session,
        actor_of(user),
        status=status,
        grid=grid,
        overdue=overdue,
        uscc=uscc,
        limit=paging.page_size,
        offset=paging.offset,
        today=clock.today(),
    )
    return Page.of(rows, total, paging)


@router.get("/api/v1/complaints/{reference}", response_model=ComplaintRow, responses=ERRORS)
def complaint(reference: str, user: Staff, session: DbSession, clock: ClockDep) -> ComplaintRow:
    return inbox.complaint_row(session, reference, actor_of(user), today=clock.today())


@router.post("/api/v1/complaints/{reference}/triage", response_model=ComplaintRow, responses=ERRORS)
def triage(
    reference: str, body: TriageIn, user: Staff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> ComplaintRow:
    """Triage a complaint once: open a case, attach it to an open case, or reject it with a reason."""
    return inbox.triage(
        session, reference, body, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
    )


@router.post("/api/v1/complaints/{reference}/match", response_model=ComplaintRow, responses=ERRORS)
def match(reference: str, body: MatchIn, user: Staff, session: DbSession, clock: ClockDep) -> ComplaintRow:
    """Link a complaint that named no registered institution to one."""
    actor = actor_of(user)
    inbox.match(session, reference, body.uscc, actor, now=clock.now())
    return inbox.complaint_row(session, reference, actor, today=clock.today())


# ------------------------------------------------------------------------------------------ inspections


@router.get("/api/v1/inspections", response_model=Page[InspectionOut], responses=ERRORS)
def inspections_list(
    user: Staff,
    session: DbSession,
    grid: Grid = None,
    uscc: str | None = Query(None, max_length=18),
    paging: PageParams = Depends(),
) -> Page[InspectionOut]:
    total, rows = inspections.list_inspections(
        session, uscc=uscc, grid=grid, limit=paging.page_size, offset=paging.offset
    )
    return Page.of(rows, total, paging)


@router.post("/api/v1/inspections", status_code=201, response_model=InspectionOut, responses=ERRORS)
def record_inspection(
    body: InspectionIn, user: Staff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> InspectionOut:
    """Record an inspection by at least two officers; a failed item opens a case citing its rule."""
    record = inspections.record_inspection(
        session, body, actor_of(user), now=clock.now(), jurisdiction=settings.jurisdiction
    )
    return inspections.inspection_out(session, record)


@router.get("/api/v1/inspections/{reference}", response_model=InspectionOut, responses=ERRORS)
def inspection(reference: str, user: Staff, session: DbSession) -> InspectionOut:
    return inspections.get_inspection(session, reference)


@router.post(
    "/api/v1/inspections/{reference}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def attach(
    reference: str, request: Request, user: Staff, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> AttachmentOut:
    """Attach an evidence file (photo or PDF, checked by its content, at most 10 MiB) to an inspection."""
    upload = await read_file_upload(request, settings.inspection_max_file_bytes)
    record = inspections.get_inspection(session, reference)
    stored = inspections.attach_file(
        session,
        "inspection",
        record.id,
        upload.filename,
        upload.data,
        actor_of(user),
        now=clock.now(),
    )
    return AttachmentOut.model_validate(stored, from_attributes=True)


@router.get(
    "/api/v1/attachments/{attachment_id}",
    responses={**ERRORS, 200: {"description": "the file", "content": {"application/octet-stream": {}}}},
)
def attachment(attachment_id: PathId, user: Staff, session: DbSession) -> Response:
    """An evidence file (staff only; never public)."""
    meta, content = inspections.attachment_content(session, attachment_id, actor_of(user))
    return Response(
        content,
        media_type=meta.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(meta.filename)}",
            "X-Content-SHA256": meta.sha256,
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# ------------------------------------------------------------------------------------------ dashboard


@router.get("/api/v1/dashboard", response_model=Dashboard, responses=ERRORS)
def dashboard_figures(
    user: Staff, session: DbSession, clock: ClockDep, settings: SettingsDep, grid: Grid = None
) -> Dashboard:
    """The dashboard's figures for the district or one grid."""
    return dashboard.dashboard(session, today=clock.today(), grid=grid, jurisdiction=settings.jurisdiction)
