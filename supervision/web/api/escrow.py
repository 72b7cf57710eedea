"""Escrow JSON API: institutions submit and read their own statements with a key; staff read any ledger.

The institution always comes from the key (``Authorization: Bearer sk_…`` or ``X-API-Key``), never from the
URL or the body. Statement bodies are read under ``SUPERVISION_MAX_STATEMENT_BYTES`` while they arrive (the
application's size limit for these paths): a larger one is refused with 413 without being read to the end,
whatever its Content-Length says.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from supervision.core.errors import Unauthorized
from supervision.core.pagination import Page, PageParams
from supervision.escrow import keys, service
from supervision.escrow.keys import KeyHolder
from supervision.escrow.schemas import (
    IssueKey,
    KeyIssued,
    KeyOut,
    LedgerOut,
    LineOut,
    StatementOut,
    StatementSummary,
)
from supervision.web.deps import ClockDep, DbSession, PathId, SettingsDep, Staff, actor, client_address
from supervision.web.uploads import CsvUpload, read_body, read_csv_upload

router = APIRouter(prefix="/api/v1/escrow", tags=["institutions: escrow"])
staff_router = APIRouter(prefix="/api/v1/escrow", tags=["staff: escrow"])

KEY_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid institution key"},
    404: {"description": "no such statement of yours"},
}
SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **KEY_ERRORS,
    409: {"description": "already accepted for the period, already corrected, or Idempotency-Key reused"},
    413: {"description": "the statement is larger than the limit"},
    422: {"description": "rejected: every problem listed with its field or CSV line"},
}
STAFF_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in as staff"},
    404: {"description": "no such institution, statement or key"},
}


# ------------------------------------------------------------------------------------------ dependencies


def key_from_headers(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def institution_holder(request: Request, session: DbSession, clock: ClockDep) -> KeyHolder:
    key = key_from_headers(request)
    if not key:
        raise Unauthorized(
            "an institution key is required: 'Authorization: Bearer sk_…' or 'X-API-Key: sk_…'"
        )
    try:
        return keys.holder_for_key(session, key, clock.now())
    except Unauthorized:
        keys.record_refused(request.app.state.engine, key, clock.now(), address=client_address(request))
        raise


Holder = Annotated[KeyHolder, Depends(institution_holder)]


def _answer(result: service.Submission) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(result.body, status_code=result.status, headers=headers)


_summary_schema = StatementSummary.model_json_schema()
_LINES_SCHEMA = {
    "type": "array",
    "description": "the statement's lines (it may have none), each"
    " {date, type, amount_fen, ref, package_code, lessons, months}",
    "items": {"type": "object"},
}
_STATEMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    **_summary_schema,
                    "properties": {**_summary_schema["properties"], "lines": _LINES_SCHEMA},
                    "required": [*_summary_schema["required"], "lines"],
                    "title": "Statement",
                    "description": "The escrow statement of the data formats; unknown fields are rejected.",
                }
            }
        },
    }
}
_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV: date,type,amount_fen,ref,package_code,lessons,months",
                        },
                        **{f: {"type": "string"} for f in StatementSummary.model_fields},
                    },
                }
            },
            "text/csv": {"schema": {"type": "string", "description": "summary in a '# field: value' block"}},
        },
    }
}


# ------------------------------------------------------------------------------------- institutions


@router.post(
    "/statements",
    status_code=201,
    response_model=StatementOut,
    responses=SUBMIT_ERRORS,
    openapi_extra=_STATEMENT_BODY,
)
def submit_json(
    holder: Holder,
    body: Annotated[bytes, Depends(read_body)],
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Submit a statement as JSON (formats.md). The same ``Idempotency-Key`` and body returns the first
    answer; the same key with another body is refused (409) and changes nothing."""
    return _answer(
        service.accept_statement(
            session,
            holder=holder,
            idempotency_key=idempotency_key,
            data=body,
            now=clock.now(),
            as_of=clock.today(),
            jurisdiction=settings.jurisdiction,
        )
    )


@router.post(
    "/statements/csv",
    status_code=201,
    response_model=StatementOut,
    responses=SUBMIT_ERRORS,
    openapi_extra=_CSV_BODY,
)
def submit_csv(
    holder: Holder,
    upload: Annotated[CsvUpload, Depends(read_csv_upload)],
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Submit a statement as CSV: the lines under the header ``date,type,amount_fen,ref,package_code,lessons,
    months``; the summary as form fields or a leading ``# field: value`` block. UTF-8 (with or without BOM) or
    GB18030. Problems name the file, line and column."""
    return _answer(
        service.accept_statement(
            session,
            holder=holder,
            idempotency_key=idempotency_key,
            data=upload.data,
            csv_form=upload.form,
            filename=upload.filename,
            now=clock.now(),
            as_of=clock.today(),
            jurisdiction=settings.jurisdiction,
        )
    )


@router.get("/statements", response_model=Page[StatementOut], responses=KEY_ERRORS)
def list_statements(
    holder: Holder,
    session: DbSession,
    period: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = None,
    paging: PageParams = Depends(),
) -> Page[dict[str, Any]]:
    """Your statements, newest period first (corrections and what they superseded)."""
    total, items = service.list_statements(
        session, holder.institution_id, limit=paging.page_size, offset=paging.offset, period=period
    )
    return Page.of(items, total, paging)


@router.get("/statements/{statement_id:int}", response_model=StatementOut, responses=KEY_ERRORS)
def get_statement(statement_id: PathId, holder: Holder, session: DbSession) -> dict[str, Any]:
    return service.view(session, holder.institution_id, statement_id)


@router.get("/statements/{statement_id:int}/lines", response_model=Page[LineOut], responses=KEY_ERRORS)
def get_lines(
    statement_id: PathId,
    holder: Holder,
    session: DbSession,
    type: Literal["receipt", "release", "refund"] | None = None,
    paging: PageParams = Depends(),
) -> Page[dict[str, Any]]:
    total, rows = service.statement_lines(
        session, holder.institution_id, statement_id, limit=paging.page_size, offset=paging.offset, type_=type
    )
    return Page.of(rows, total, paging)


@router.get("/requirement", responses=KEY_ERRORS)
def get_requirement(
    holder: Holder, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """What you must hold in supervision now and how it is computed (parameters with their effective dates and
    citations), and which statement is due next."""
    return service.requirement_now(
        session,
        holder.institution_id,
        as_of=clock.today(),
        jurisdiction=settings.jurisdiction,
    )


@router.get("/ledger", response_model=LedgerOut, responses=KEY_ERRORS)
def get_ledger(holder: Holder, session: DbSession, paging: PageParams = Depends()) -> LedgerOut:
    """Your ledger accounts (stored and recomputed balances) and transactions, newest first."""
    return _ledger(session, holder.institution_id, paging)


@router.get("/findings", responses=KEY_ERRORS)
def get_findings(holder: Holder, session: DbSession) -> dict[str, Any]:
    """Your open findings (all rules) as stored by the bureau's rule runs."""
    return {"findings": service.open_findings(session, holder.institution_id)}


def _ledger(session: DbSession, institution_id: int, paging: PageParams) -> LedgerOut:
    page = service.ledger_page(session, institution_id, limit=paging.page_size, offset=paging.offset)
    return LedgerOut(
        balances=page["balances"],
        transactions=Page.of(page["transactions"], page["total"], paging),
    )


# -------------------------------------------------------------------------------------------- staff


@staff_router.get(
    "/institutions/{uscc}/statements", response_model=Page[StatementOut], responses=STAFF_ERRORS
)
def staff_statements(
    uscc: str, user: Staff, session: DbSession, paging: PageParams = Depends()
) -> Page[dict[str, Any]]:
    inst = service.institution_for_staff(session, uscc)
    total, items = service.list_statements(session, inst["id"], limit=paging.page_size, offset=paging.offset)
    return Page.of(items, total, paging)


@staff_router.get(
    "/institutions/{uscc}/statements/{statement_id}", response_model=StatementOut, responses=STAFF_ERRORS
)
def staff_statement(uscc: str, statement_id: PathId, user: Staff, session: DbSession) -> dict[str, Any]:
    inst = service.institution_for_staff(session, uscc)
    return service.view(session, inst["id"], statement_id)


@staff_router.get("/institutions/{uscc}/ledger", response_model=LedgerOut, responses=STAFF_ERRORS)
def staff_ledger(uscc: str, user: Staff, session: DbSession, paging: PageParams = Depends()) -> LedgerOut:
    inst = service.institution_for_staff(session, uscc)
    return _ledger(session, inst["id"], paging)


@staff_router.get("/institutions/{uscc}/keys", response_model=list[KeyOut], responses=STAFF_ERRORS)
def staff_keys(uscc: str, user: Staff, session: DbSession, clock: ClockDep) -> list[KeyOut]:
    service.institution_for_staff(session, uscc)
    return [_key_out(k, u, clock) for k, u in keys.list_keys(session, uscc)]


@staff_router.post(
    "/institutions/{uscc}/keys", status_code=201, response_model=KeyIssued, responses=STAFF_ERRORS
)
def staff_issue_key(uscc: str, body: IssueKey, user: Staff, session: DbSession, clock: ClockDep) -> KeyIssued:
    """Issue a key for the institution. The key is in this answer only: it is stored hashed."""
    key, row = keys.issue(
        session, uscc=uscc, now=clock.now(), actor=actor(user), days=body.days, label=body.label
    )
    return KeyIssued(key=key, public_id=row.public_id, uscc=uscc, label=row.label, expires_at=row.expires_at)


@staff_router.delete("/keys/{public_id}", status_code=204, responses=STAFF_ERRORS)
def staff_revoke_key(public_id: str, user: Staff, session: DbSession, clock: ClockDep) -> Response:
    keys.revoke(session, public_id=public_id, now=clock.now(), actor=actor(user))
    return Response(status_code=204)


def _key_out(k: Any, uscc: str, clock: ClockDep) -> KeyOut:
    return KeyOut(
        public_id=k.public_id,
        uscc=uscc,
        label=k.label,
        created_at=k.created_at,
        created_by=k.created_by,
        expires_at=k.expires_at,
        revoked_at=k.revoked_at,
        status=keys.key_status(k, clock.now()),
    )
