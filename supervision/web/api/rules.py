"""The public rule API: the catalogue (规则目录) and the self-check (自查) of an institution document."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from supervision.compliance import selfcheck
from supervision.compliance import service as compliance
from supervision.compliance.schemas import Catalogue, Evaluation
from supervision.core import ratelimit
from supervision.core.errors import Invalid, TooLarge
from supervision.web.deps import ClockDep, DbSession

router = APIRouter(prefix="/api/v1/rules", tags=["public: rules"])

EVALUATE_LIMIT = 60
"""Self-checks per client address and window."""
EVALUATE_WINDOW_SECONDS = 60
EVALUATE_MAX_BYTES = 5 * 1024 * 1024
"""A self-check carries one institution (and its statements); larger bodies are refused."""

AsOf = Query(None, description="business date YYYY-MM-DD (default: today in Asia/Shanghai)")


@router.get("", response_model=Catalogue)
def catalogue(clock: ClockDep, as_of: dt.date | None = AsOf) -> dict[str, Any]:
    """Every rule with its severity, titles, description, the parameters in force on ``as_of`` and its legal
    basis (the negative list as data)."""
    return compliance.catalogue(as_of or clock.today())


@router.post(
    "/evaluate",
    response_model=Evaluation,
    responses={
        413: {"description": "body too large"},
        422: {"description": "invalid document or statements: every problem listed with its path"},
        429: {"description": "too many self-checks from this address; see Retry-After"},
    },
)
def evaluate(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    as_of: dt.date | None = AsOf,
    doc: Any = Body(
        ...,
        description='An institution document (formats.md), optionally with "statements": [...] in the '
        "escrow statement format. Without statements the rules that read them are skipped.",
    ),
) -> Response:
    """Self-check: the findings the rules would report for this document as of ``as_of``. Stores nothing
    (only the rate-limit counter of the caller's address)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > EVALUATE_MAX_BYTES:
        raise TooLarge(f"a self-check is at most {EVALUATE_MAX_BYTES} bytes")
    client = request.client.host if request.client else "unknown"
    verdict = ratelimit.hit(
        session,
        f"rules-evaluate:{client}",
        now=clock.now(),
        limit=EVALUATE_LIMIT,
        window_seconds=EVALUATE_WINDOW_SECONDS,
    )
    if not verdict.allowed:
        return JSONResponse(
            {
                "error": "rate_limited",
                "detail": f"at most {EVALUATE_LIMIT} self-checks per {EVALUATE_WINDOW_SECONDS} s; "
                f"try again in {verdict.retry_after_seconds} s",
                "problems": [],
            },
            status_code=429,
            headers={"Retry-After": str(verdict.retry_after_seconds)},
        )
    try:
        result = selfcheck.evaluate_document(doc, as_of or clock.today())
    except Invalid as err:  # answered, not raised: the hit above is committed with the request
        return JSONResponse(err.as_dict(), status_code=err.status)
    return JSONResponse(result)
