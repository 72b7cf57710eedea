"""Staff sign-in for API tools and the console."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from supervision.accounts import service as accounts
from supervision.accounts.schemas import Login, LoginAnswer
from supervision.web.deps import ClockDep, DbSession, SettingsDep, Staff, staff_token
from supervision.web.sessions import STAFF

router = APIRouter(prefix="/api/v1/auth", tags=["staff"])


@router.post("/login", response_model=LoginAnswer, responses={401: {"description": "wrong credentials"}})
def login(
    body: Login, session: DbSession, clock: ClockDep, settings: SettingsDep, response: Response
) -> LoginAnswer:
    hours = settings.staff_session_hours
    token, user = accounts.login(
        session, username=body.username, password=body.password, now=clock.now(), hours=hours
    )
    STAFF.attach(response, token, hours)
    return LoginAnswer(token=token, username=user.username, role=user.role, expires_in_hours=hours)


@router.post("/logout", status_code=204)
def logout(user: Staff, session: DbSession, clock: ClockDep, request: Request, response: Response) -> None:
    token = staff_token(request)
    if token:
        accounts.logout(session, token, clock.now())
    STAFF.clear(response)
