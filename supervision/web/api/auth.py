"""Staff sign-in for API tools and the console."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from supervision.accounts import service as accounts
from supervision.accounts.schemas import Login, LoginAnswer
from supervision.web.deps import SESSION_COOKIE, ClockDep, DbSession, Staff, staff_token

router = APIRouter(prefix="/api/v1/auth", tags=["staff"])


@router.post("/login", response_model=LoginAnswer, responses={401: {"description": "wrong credentials"}})
def login(
    body: Login, session: DbSession, clock: ClockDep, request: Request, response: Response
) -> LoginAnswer:
    hours = request.app.state.settings.staff_session_hours
    token, user = accounts.login(
        session, username=body.username, password=body.password, now=clock.now(), hours=hours
    )
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", max_age=hours * 3600)
    return LoginAnswer(token=token, username=user.username, role=user.role, expires_in_hours=hours)


@router.post("/logout", status_code=204)
def logout(user: Staff, session: DbSession, clock: ClockDep, request: Request, response: Response) -> None:
    token = staff_token(request)
    if token:
        accounts.logout(session, token, clock.now())
    response.delete_cookie(SESSION_COOKIE)
