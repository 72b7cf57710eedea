"""The public rule API: the catalogue (规则目录) and the self-check (自查) of an institution document."""

from __future__ import annotations

import email.message
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from supervision.compliance import selfcheck
from supervision.compliance import service as compliance
from supervision.compliance.schemas import Catalogue, Evaluation
from supervision.core import inputs
from supervision.core.ratelimit import Verdict
from supervision.settings import Settings
from supervision.web.deps import AsOfDate, RateLimit

router = APIRouter(prefix="/api/v1/rules", tags=["public: rules"])

EVALUATE_LIMIT = 60
"""Self-checks per client address and window."""
EVALUATE_WINDOW_SECONDS = 60
EVALUATE_MAX_BYTES = 5 * 1024 * 1024
"""A self-check carries one institution (and its statements); larger bodies are refused (the application's
size limit for this path, ``supervision.main``)."""


@router.get("", response_model=Catalogue)
def catalogue(as_of: AsOfDate) -> dict[str, Any]:
    """Every rule with its severity, titles, description, the parameters in force on ``as_of`` and its legal
    basis (the negative list as data)."""
    return compliance.catalogue(as_of)


def _limits(settings: Settings) -> tuple[int, int]:
    return EVALUATE_LIMIT, EVALUATE_WINDOW_SECONDS


def _refusal(verdict: Verdict, window: int) -> str:
    return f"at most {verdict.limit} self-checks per {window} s; try again in {verdict.retry_after_seconds} s"


evaluate_rate = RateLimit("rules-evaluate", _limits, refuse=_refusal)
"""One hit of the caller's address per self-check, taken before the body is read."""


async def json_document(request: Request, _: Annotated[Verdict, Depends(evaluate_rate)]) -> Any:
    """The body as JSON, read once the rate limit allows it (what FastAPI makes of a JSON body parameter: a
    JSON content type is decoded, any other body is passed on as bytes, a missing one is refused)."""
    body = await request.body()
    if not body:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    message = email.message.Message()
    message["content-type"] = request.headers.get("content-type", "")
    subtype = message.get_content_subtype()
    if message.get_content_maintype() != "application" or not (
        subtype == "json" or subtype.endswith("+json")
    ):
        return body
    return inputs.decode(body)


_DOCUMENT = (
    'An institution document (formats.md), optionally with "statements": [...] in the escrow statement'
    " format. Without statements the rules that read them are skipped."
)
_DOCUMENT_BODY = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": _DOCUMENT,
                    "title": "Doc",
                }
            }
        },
        "required": True,
    }
}


@router.post(
    "/evaluate",
    response_model=Evaluation,
    responses={
        413: {"description": "body too large"},
        422: {"description": "invalid document or statements: every problem listed with its path"},
        429: {"description": "too many self-checks from this address; see Retry-After"},
    },
    openapi_extra=_DOCUMENT_BODY,
)
def evaluate(doc: Annotated[Any, Depends(json_document)], as_of: AsOfDate) -> Response:
    """Self-check: the findings the rules would report for this document as of ``as_of``. Stores nothing
    (only the rate-limit counter of the caller's address)."""
    return JSONResponse(selfcheck.evaluate_document(doc, as_of))
