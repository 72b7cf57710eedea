"""The complaint form (我要举报): CSRF-protected, rate-limited per client address, and nothing typed
is lost: every refusal (a problem in the form, an expired page, too many complaints) shows the form
again, filled in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from supervision.cases import inbox
from supervision.cases import service as cases
from supervision.cases.schemas import ComplaintForm
from supervision.core.errors import Invalid
from supervision.core.ratelimit import Verdict
from supervision.settings import Settings
from supervision.web import csrf
from supervision.web.deps import ClockDep, DbSession, RateLimit
from supervision.web.public.common import page

router = APIRouter(include_in_schema=False)

FIELDS = ("uscc", "institution_name", "text", "contact")
PROBLEM_TEXT = {
    "text": "请描述您要举报的情况（10 到 3000 字）。",
    "uscc": "统一社会信用代码应为18位数字和大写字母。",
    "contact": "联系方式不能超过100字。",
    "institution_name": "机构名称不能超过200字。",
}


def _form(
    request: Request,
    values: dict[str, Any],
    *,
    problems: dict[str, str] | None = None,
    message: str | None = None,
    message_args: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = csrf.token(request)
    response = page(
        request,
        "public/complaint_form.html",
        {
            "values": values,
            "problems": problems or {},
            "message": message,
            "message_args": message_args or {},
            "csrf_token": token,
        },
        status_code=status_code,
    )
    csrf.attach(request, response, token)
    return response


@router.get("/complaints/new", response_class=HTMLResponse)
def new(
    request: Request,
    session: DbSession,
    uscc: str | None = Query(None, max_length=18),
) -> HTMLResponse:
    values: dict[str, Any] = {k: "" for k in FIELDS}
    if uscc:
        values.update(cases.prefill_complaint(session, uscc.strip().upper()))
    return _form(request, values)


def _limits(settings: Settings) -> tuple[int, int]:
    return settings.complaint_limit, settings.complaint_window_seconds


complaint_rate = RateLimit("complaint", _limits)
"""One hit of the client address per complaint sent, taken before the form is read."""


async def read_form(request: Request, _: Annotated[Verdict, Depends(complaint_rate)]) -> ComplaintForm:
    """The form, read once the client's hit is counted."""
    raw = await request.form()
    try:
        return ComplaintForm.model_validate({k: v for k, v in raw.items() if isinstance(v, str)})
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from None


@router.post("/complaints", response_class=HTMLResponse)
def submit(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    verdict: Annotated[Verdict, Depends(complaint_rate)],
    form: Annotated[ComplaintForm, Depends(read_form)],
) -> Response:
    values = form.model_dump(exclude={"csrf_token"})
    if not csrf.valid(request, form.csrf_token):
        return _form(
            request,
            values,
            message="页面已过期或来源无法确认，您填写的内容已保留，请再次点击提交。",
            status_code=403,
        )
    if not verdict.allowed:
        minutes = max(1, (verdict.retry_after_seconds + 59) // 60)
        response = _form(
            request,
            values,
            message="提交过于频繁，请 {minutes} 分钟后再试。您填写的内容已保留。",
            message_args={"minutes": minutes},
            status_code=429,
        )
        response.headers["Retry-After"] = str(verdict.retry_after_seconds)
        return response
    try:
        data = cases.parse_complaint(values)
    except Invalid as err:
        problems: dict[str, str] = {}
        for p in err.problems:
            field = p.loc.split(".")[0]
            field = field if field in PROBLEM_TEXT else "text"
            problems.setdefault(field, PROBLEM_TEXT[field])
        return _form(request, values, problems=problems, status_code=422)
    reference = cases.file_complaint(session, data, now=clock.now())
    return RedirectResponse(f"/complaints/{reference}", status_code=303)


@router.get("/complaints/{reference}", response_class=HTMLResponse)
def received(reference: str, request: Request, session: DbSession) -> HTMLResponse:
    """The complainant's page (举报查询): received, being handled, or concluded with the public outcome;
    never staff names, internal notes or the contact left."""
    view = inbox.complainant_view(session, reference)
    return page(request, "public/complaint_received.html", {"reference": reference, "v": view})
