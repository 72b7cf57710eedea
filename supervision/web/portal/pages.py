"""The institutions' portal (机构服务): sign in with the institution key, upload a monthly statement as CSV,
see each statement's result (line-level problems, reconciliation, findings) and the institution's findings.

Signing in opens a server-side session (revocable, ended by sign-out or by revoking the key) kept in an
httponly, SameSite=Strict cookie; every form that changes something carries a CSRF token (the double-submit
token of ``supervision.web.csrf``, as the public and console forms).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supervision.accounts.service import SignInLocked, SignInPolicy
from supervision.cases import casework
from supervision.cases.schemas import KIND_ZH
from supervision.compliance import service as compliance
from supervision.core.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    Unauthorized,
)
from supervision.core.pagination import MAX_PAGE
from supervision.escrow import keys, service
from supervision.escrow.keys import KeyHolder
from supervision.escrow.ledger import ACCOUNT_NAMES
from supervision.escrow.schemas import SUMMARY_FIELDS
from supervision.settings import Settings
from supervision.web import csrf
from supervision.web.deps import (
    ClockDep,
    DbSession,
    PortalHolder,
    PortalVisitor,
    SettingsDep,
    client_address,
)
from supervision.web.sessions import PORTAL
from supervision.web.templating import locked_notice, render
from supervision.web.uploads import CsvUpload, FilesForm, read_csv_upload, read_files_form

router = APIRouter(prefix="/portal", include_in_schema=False)

LINES_PER_PAGE = 200
STATEMENTS_PER_PAGE = 24
CSRF_FIELD = "csrf"
"""The portal's forms name their token ``csrf`` (the public and console forms: ``csrf_token``)."""


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A portal page; its forms (sign-out, upload) carry the CSRF token."""
    token = csrf.token(request)
    response = render(request, name, {**context, "csrf": token}, status_code=status_code)
    csrf.attach(request, response, token)
    return response


def _check_csrf(request: Request, given: str | None) -> None:
    if not csrf.valid(request, given):
        raise csrf.expired()


@router.get("", response_class=HTMLResponse)
def index(request: Request, visitor: PortalVisitor) -> Response:
    if visitor is not None:
        return RedirectResponse("/portal/statements", status_code=303)
    return render(request, "portal/index.html", {})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    key: str = Form(..., max_length=200),
) -> Response:
    hours = settings.portal_session_hours
    try:
        token, _ = keys.open_session(
            session,
            key.strip(),
            clock.now(),
            hours,
            address=client_address(request),
            policy=SignInPolicy.of(settings),
        )
    except SignInLocked as locked:
        response = render(
            request, "portal/index.html", {"error": locked_notice(locked.until)}, status_code=429
        )
        response.headers.update(locked.headers())
        return response
    except Unauthorized:
        return render(
            request, "portal/index.html", {"error": "机构密钥无效、已过期或已被撤销。"}, status_code=401
        )
    redirect = RedirectResponse("/portal/statements", status_code=303)
    PORTAL.attach(request, redirect, token, hours)
    return redirect


@router.post("/logout")
def logout(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    visitor: PortalVisitor,
    token: str = Form("", alias=CSRF_FIELD),
) -> Response:
    if visitor is not None:
        _check_csrf(request, token)
        keys.close_session(session, PORTAL.token(request) or "", clock.now(), visitor.actor)
    response = RedirectResponse("/portal", status_code=303)
    PORTAL.clear(request, response)
    return response


def _statements_page(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: Settings,
    holder: KeyHolder,
    page: int,
    *,
    problems: list[Any] | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    total, items = service.list_statements(
        session, holder.institution_id, limit=STATEMENTS_PER_PAGE, offset=(page - 1) * STATEMENTS_PER_PAGE
    )
    now = service.requirement_now(
        session,
        holder.institution_id,
        as_of=clock.today(),
        jurisdiction=settings.jurisdiction,
    )
    heads = service.statements_in_force(session, holder.institution_id)
    return _page(
        request,
        "portal/statements.html",
        {
            "holder": holder,
            "items": items,
            "total": total,
            "page": page,
            "page_size": STATEMENTS_PER_PAGE,
            "now": now,
            "heads": heads,
            "problems": problems or [],
            "error": error,
            "form": form or {},
            "fields": SUMMARY_FIELDS,
            "idempotency_key": secrets.token_urlsafe(16),
            "max_mb": settings.max_statement_bytes // (1024 * 1024),
        },
        status_code=status_code,
    )


@router.get("/statements", response_class=HTMLResponse)
def statements(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    holder: PortalHolder,
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    return _statements_page(request, session, clock, settings, holder, page)


@router.post("/statements")
def upload(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    holder: PortalHolder,
    csv_upload: Annotated[CsvUpload, Depends(read_csv_upload)],
) -> Response:
    form = dict(csv_upload.form)
    _check_csrf(request, form.pop(CSRF_FIELD, None))
    key = form.pop("idempotency_key", None)
    summary = {k: v for k, v in form.items() if k in SUMMARY_FIELDS or v}
    try:
        result = service.accept_statement(
            session,
            holder=holder,
            idempotency_key=key,
            data=csv_upload.data,
            csv_form=summary,
            filename=csv_upload.filename,
            now=clock.now(),
            as_of=clock.today(),
            jurisdiction=settings.jurisdiction,
        )
    except Invalid as exc:
        return _statements_page(
            request,
            session,
            clock,
            settings,
            holder,
            1,
            problems=exc.problems,
            error=exc.detail,
            form=summary,
            status_code=422,
        )
    except Conflict as exc:
        return _statements_page(
            request, session, clock, settings, holder, 1, error=exc.detail, form=summary, status_code=409
        )
    return RedirectResponse(f"/portal/statements/{result.body['id']}", status_code=303)


@router.get("/statements/{statement_id}", response_class=HTMLResponse)
def statement(
    statement_id: int,
    request: Request,
    session: DbSession,
    holder: PortalHolder,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    type: str | None = Query(None, pattern="^(receipt|release|refund)?$"),
) -> Response:
    type = type or None
    view = service.view(session, holder.institution_id, statement_id)
    total, lines = service.statement_lines(
        session,
        holder.institution_id,
        statement_id,
        limit=LINES_PER_PAGE,
        offset=(page - 1) * LINES_PER_PAGE,
        type_=type,
    )
    return _page(
        request,
        "portal/statement.html",
        {
            "holder": holder,
            "s": view,
            "lines": lines,
            "lines_total": total,
            "page": page,
            "page_size": LINES_PER_PAGE,
            "type": type,
        },
    )


@router.get("/findings", response_class=HTMLResponse)
def findings(
    request: Request, session: DbSession, clock: ClockDep, settings: SettingsDep, holder: PortalHolder
) -> Response:
    heads = service.statements_in_force(session, holder.institution_id)
    latest = service.view(session, holder.institution_id, heads[-1]["id"]) if heads else None
    return _page(
        request,
        "portal/findings.html",
        {
            "holder": holder,
            "stored": service.open_findings(session, holder.institution_id),
            "latest": latest,
            "now": service.requirement_now(
                session,
                holder.institution_id,
                as_of=clock.today(),
                jurisdiction=settings.jurisdiction,
            ),
            "balances": service.balances(session, holder.institution_id),
            "account_names": ACCOUNT_NAMES,
        },
    )


# ------------------------------------------------------------------------------------------ notices


NOTICE_PROBLEMS_ZH = (
    ("the decision is no longer open", "教育局已作出决定或已撤回本告知，不能再陈述、申辩。"),
    ("the institution waived", "贵机构已放弃陈述、申辩和听证。"),
    ("the statement period ended", "陈述、申辩期限已过。"),
    ("a statement was already made", "贵机构已就本告知提交过陈述、申辩，每份告知只能提交一次。"),
    ("write the statement or ask", "请填写陈述、申辩的内容，或勾选“申请听证”。"),
    ("at most 20,000 characters", "陈述、申辩不能超过 20000 字。"),
    ("at most 5 files", "附件最多 5 个。"),
    ("the file is empty", "文件是空的。"),
    ("not a PDF, JPEG or PNG", "不是 PDF、JPEG 或 PNG 文件（按文件内容判断，与扩展名无关）。"),
    ("larger than", "文件超过 {mib} MiB。"),
    ("a file is at most", "每个附件不能超过 {mib} MiB，没有保存任何内容。"),
    ("too many files", "附件最多 5 个。"),
    ("the notice can no longer be waived", "本告知已不能放弃（已提交陈述、申辩、已放弃或已作出决定）。"),
    ("no notice", "没有这份告知书。"),
    ("confirm", "请先勾选确认，再放弃。"),
)
"""The notice form's refusals in Chinese, by how the service's message begins; a file's problem keeps the
file's name in front."""


def _zh(message: str, mib: int) -> str:
    name, sep, rest = message.partition(": ")
    named = bool(sep) and not message.startswith(("the ", "a ", "at ", "no "))
    text = rest if named else message
    for start, zh in NOTICE_PROBLEMS_ZH:
        if text.lower().startswith(start.lower()):
            zh = zh.format(mib=mib)
            return f"{name}：{zh}" if named else zh
    return message


@router.get("/notices", response_class=HTMLResponse)
def notices(
    request: Request, holder: PortalHolder, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> Response:
    """通知与决定: notices of proposed decisions (with the right to state its case), decisions and
    rectification deadlines."""
    return _notices_page(request, holder, session, clock, settings)


def _notices_page(
    request: Request,
    holder: KeyHolder,
    session: DbSession,
    clock: ClockDep,
    settings: Settings,
    *,
    error: DomainError | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    view = casework.portal_view(session, holder.uscc, today=clock.today())
    mib = settings.inspection_max_file_bytes // (1024 * 1024)
    messages = [_zh(p.msg, mib) for p in error.problems] if error else []
    if error and not messages:
        messages = [_zh(error.detail, mib)]
    return _page(
        request,
        "portal/notices.html",
        {
            "holder": holder,
            **view,
            "rules": compliance.rule_titles(clock.today(), jurisdiction=settings.jurisdiction),
            "kinds": KIND_ZH,
            "error": error,
            "messages": messages,
            "form": form or {},
            "max_files": casework.STATEMENT_MAX_FILES,
            "max_mib": mib,
        },
        status_code=error.status if error else 200,
    )


async def read_notice_form(request: Request, settings: SettingsDep) -> FilesForm | DomainError:
    """The statement form as sent, its files read up to their limit; a form that cannot be read (a file
    too large, too many files) is the error to show."""
    try:
        return await read_files_form(
            request,
            field="files",
            max_file_bytes=settings.inspection_max_file_bytes,
            max_files=casework.STATEMENT_MAX_FILES,
        )
    except DomainError as err:
        return err


@router.post("/notices/{proposal_id}/{step}", response_class=HTMLResponse)
def notice_step(
    proposal_id: int,
    step: str,
    request: Request,
    holder: PortalHolder,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    sent: Annotated[FilesForm | DomainError, Depends(read_notice_form)],
) -> Response:
    """State the case (陈述、申辩) with attachments and optionally ask for a hearing, or waive."""
    if isinstance(sent, DomainError):
        return _notices_page(request, holder, session, clock, settings, error=sent)
    form = {"id": proposal_id, **sent.fields}
    try:
        _check_csrf(request, sent.fields.get(CSRF_FIELD))
        if step == "waive":
            casework.waive_in_portal(
                session,
                holder.uscc,
                proposal_id,
                confirmed=sent.fields.get("confirm") == "yes",
                now=clock.now(),
            )
        elif step == "statement":
            casework.submit_statement(
                session,
                holder.uscc,
                proposal_id,
                statement=sent.fields.get("statement", ""),
                hearing=sent.fields.get("hearing") == "yes",
                files=[(f.filename, f.data) for f in sent.files],
                now=clock.now(),
            )
        else:
            raise NotFound(f"no step {step}")
    except DomainError as err:
        session.rollback()
        return _notices_page(request, holder, session, clock, settings, error=err, form=form)
    return RedirectResponse(f"/portal/notices#n-{proposal_id}", status_code=303)
