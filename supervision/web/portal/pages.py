"""The institutions' portal (机构服务): sign in with the institution key, upload a monthly statement as CSV,
see each statement's result (line-level problems, reconciliation, findings) and the institution's findings.

Signing in opens a server-side session (revocable, ended by sign-out or by revoking the key) kept in an
httponly, SameSite=Strict cookie; every form that changes something carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supervision.core.errors import Conflict, Forbidden, Invalid, Unauthorized
from supervision.escrow import keys, service, validation
from supervision.escrow.keys import KeyHolder
from supervision.escrow.ledger import ACCOUNT_NAMES
from supervision.escrow.schemas import SUMMARY_FIELDS
from supervision.web.api.escrow import CsvUpload, read_csv_upload
from supervision.web.deps import ClockDep, DbSession
from supervision.web.templating import render

router = APIRouter(prefix="/portal", include_in_schema=False)

COOKIE = "sv_portal"
LINES_PER_PAGE = 200
STATEMENTS_PER_PAGE = 24


def _signed_in(request: Request, session: DbSession, clock: ClockDep) -> tuple[KeyHolder, str] | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return keys.holder_for_session(session, token, clock.now())
    except Unauthorized:
        return None


Visitor = Annotated[tuple[KeyHolder, str] | None, Depends(_signed_in)]


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/portal", status_code=303)


def _check_csrf(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected, given):
        raise Forbidden(
            "the form has expired or did not come from this portal; reload the page and try again"
        )


@router.get("", response_class=HTMLResponse)
def index(request: Request, visitor: Visitor) -> Response:
    if visitor is not None:
        return RedirectResponse("/portal/statements", status_code=303)
    return render(request, "portal/index.html", {})


@router.post("/login")
def login(request: Request, session: DbSession, clock: ClockDep, key: str = Form(...)) -> Response:
    hours = request.app.state.settings.portal_session_hours
    try:
        token, _ = keys.open_session(session, key.strip(), clock.now(), hours)
    except Unauthorized:
        return render(
            request, "portal/index.html", {"error": "机构密钥无效、已过期或已被撤销。"}, status_code=401
        )
    response = RedirectResponse("/portal/statements", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=hours * 3600, path="/portal")
    return response


@router.post("/logout")
def logout(
    request: Request, session: DbSession, clock: ClockDep, visitor: Visitor, csrf: str = Form("")
) -> Response:
    if visitor is not None:
        _check_csrf(visitor[1], csrf)
        keys.close_session(session, request.cookies.get(COOKIE, ""), clock.now())
    response = _to_sign_in()
    response.delete_cookie(COOKIE, path="/portal")
    return response


def _statements_page(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    holder: KeyHolder,
    csrf: str,
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
        jurisdiction=request.app.state.settings.jurisdiction,
    )
    heads = service.statements_in_force(session, holder.institution_id)
    return render(
        request,
        "portal/statements.html",
        {
            "holder": holder,
            "csrf": csrf,
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
            "max_mb": request.app.state.settings.max_statement_bytes // (1024 * 1024),
        },
        status_code=status_code,
    )


@router.get("/statements", response_class=HTMLResponse)
def statements(
    request: Request, session: DbSession, clock: ClockDep, visitor: Visitor, page: int = Query(1, ge=1)
) -> Response:
    if visitor is None:
        return _to_sign_in()
    return _statements_page(request, session, clock, visitor[0], visitor[1], page)


@router.post("/statements")
def upload(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    visitor: Visitor,
    csv_upload: Annotated[CsvUpload, Depends(read_csv_upload)],
) -> Response:
    if visitor is None:
        return _to_sign_in()
    holder, csrf = visitor
    form = dict(csv_upload.form)
    _check_csrf(csrf, form.pop("csrf", None))
    key = form.pop("idempotency_key", None)
    summary = {k: v for k, v in form.items() if k in SUMMARY_FIELDS or v}
    try:
        idempotency_key = service.check_idempotency_key(key)
        parsed = validation.parse_csv(csv_upload.data, summary, clock.today(), csv_upload.filename)
        result = service.submit(
            session,
            holder=holder,
            parsed=parsed,
            idempotency_key=idempotency_key,
            now=clock.now(),
            as_of=clock.today(),
            jurisdiction=request.app.state.settings.jurisdiction,
        )
    except Invalid as exc:
        return _statements_page(
            request,
            session,
            clock,
            holder,
            csrf,
            1,
            problems=exc.problems,
            error=exc.detail,
            form=summary,
            status_code=422,
        )
    except Conflict as exc:
        return _statements_page(
            request, session, clock, holder, csrf, 1, error=exc.detail, form=summary, status_code=409
        )
    return RedirectResponse(f"/portal/statements/{result.body['id']}", status_code=303)


@router.get("/statements/{statement_id}", response_class=HTMLResponse)
def statement(
    statement_id: int,
    request: Request,
    session: DbSession,
    visitor: Visitor,
    page: int = Query(1, ge=1),
    type: str | None = Query(None, pattern="^(receipt|release|refund)?$"),
) -> Response:
    if visitor is None:
        return _to_sign_in()
    holder = visitor[0]
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
    return render(
        request,
        "portal/statement.html",
        {
            "holder": holder,
            "csrf": visitor[1],
            "s": view,
            "lines": lines,
            "lines_total": total,
            "page": page,
            "page_size": LINES_PER_PAGE,
            "type": type,
        },
    )


@router.get("/findings", response_class=HTMLResponse)
def findings(request: Request, session: DbSession, clock: ClockDep, visitor: Visitor) -> Response:
    if visitor is None:
        return _to_sign_in()
    holder = visitor[0]
    heads = service.statements_in_force(session, holder.institution_id)
    latest = service.view(session, holder.institution_id, heads[-1]["id"]) if heads else None
    return render(
        request,
        "portal/findings.html",
        {
            "holder": holder,
            "csrf": visitor[1],
            "stored": service.open_findings(session, holder.institution_id),
            "latest": latest,
            "now": service.requirement_now(
                session,
                holder.institution_id,
                as_of=clock.today(),
                jurisdiction=request.app.state.settings.jurisdiction,
            ),
            "balances": service.balances(session, holder.institution_id),
            "account_names": ACCOUNT_NAMES,
        },
    )
