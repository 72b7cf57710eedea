"""Request-scoped dependencies: one request, one transaction; the clock; the signed-in officer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from supervision.accounts import service as accounts
from supervision.accounts.models import StaffUser
from supervision.core.clock import Clock
from supervision.core.errors import Unauthorized

SESSION_COOKIE = "sv_staff"


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, before the response is sent."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


DbSession = Annotated[Session, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]


def staff_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def current_staff(request: Request, session: DbSession, clock: ClockDep) -> StaffUser:
    token = staff_token(request)
    if not token:
        raise Unauthorized(
            "sign in as staff: POST /api/v1/auth/login, then send 'Authorization: Bearer TOKEN'"
        )
    return accounts.user_for_token(session, token, clock.now())


Staff = Annotated[StaffUser, Depends(current_staff)]


def staff_or_none(request: Request, session: Session, clock: Clock) -> StaffUser | None:
    """The signed-in officer of a console page, or None (the page then sends them to sign in)."""
    try:
        return current_staff(request, session, clock)
    except Unauthorized:
        return None


def to_login() -> RedirectResponse:
    return RedirectResponse("/staff/login", status_code=303)


def actor(user: StaffUser) -> str:
    return f"staff:{user.username}"
