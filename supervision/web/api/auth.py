"""Staff sign-in for API tools and the console."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from supervision.accounts import service as accounts
from supervision.accounts.schemas import Login, LoginAnswer
from supervision.web import csrf
from supervision.web.deps import ClockDep, DbSession, SettingsDep, Staff, client_address, staff_token
from supervision.web.sessions import STAFF

router = APIRouter(prefix="/api/v1/auth", tags=["staff"])


@router.post(
    "/login",
    response_model=LoginAnswer,
    responses={
        401: {"description": "wrong credentials"},
        429: {"description": "too many failed sign-ins: locked until Retry-After"},
        503: {"description": "too many sign-ins at this moment"},
    },
)
def login(
    body: Login, request: Request, session: DbSession, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Sign in; the answer's token goes in ``Authorization: Bearer``. Five failures of an account (or thirty
    from an address) within 15 minutes lock it for 15 minutes (429 with ``Retry-After``). The console's
    cookie is set too; a state change made with that cookie instead of the token sends ``X-CSRF-Token``
    with the answer's ``csrf_token``."""
    hours = settings.staff_session_hours
    outcome = accounts.login(
        session,
        username=body.username,
        password=body.password,
        now=clock.now(),
        hours=hours,
        address=client_address(request),
        policy=accounts.SignInPolicy.of(settings),
    )
    if outcome.refusal is not None:
        err = outcome.refusal
        return JSONResponse(err.as_dict(), status_code=err.status, headers=err.headers())
    assert outcome.token is not None and outcome.user is not None
    form_token = csrf.token(request)
    answer = LoginAnswer(
        token=outcome.token,
        username=outcome.user.username,
        role=outcome.user.role,
        expires_in_hours=hours,
        csrf_token=form_token,
    )
    response = JSONResponse(answer.model_dump())
    STAFF.attach(request, response, outcome.token, hours)
    csrf.attach(request, response, form_token)
    return response


@router.post("/logout", status_code=204)
def logout(user: Staff, session: DbSession, clock: ClockDep, request: Request, response: Response) -> None:
    token = staff_token(request)
    if token:
        accounts.logout(session, token, clock.now())
    STAFF.clear(request, response)
