"""Request-scoped dependencies: one request, one transaction; the clock and the settings; the signed-in
officer or institution; the rate limit of a client address."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlmodel import Session

from supervision.accounts import service as accounts
from supervision.accounts.models import StaffUser
from supervision.core import ratelimit
from supervision.core.clock import Clock, check_within, years_after
from supervision.core.errors import RateLimited, Unauthorized
from supervision.core.inputs import MAX_ID
from supervision.escrow import keys
from supervision.escrow.keys import KeyHolder
from supervision.settings import Settings
from supervision.web.sessions import PORTAL, STAFF


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


async def get_settings(request: Request) -> Settings:
    """The application's settings (a coroutine: answered on the event loop, no thread for it)."""
    settings: Settings = request.app.state.settings
    return settings


DbSession = Annotated[Session, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A row id or sequence number in a path: a number the database can look up (beyond it: 422)."""


# -------------------------------------------------------------------------------------------- staff


def staff_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return STAFF.token(request)


def current_staff(request: Request, session: DbSession, clock: ClockDep) -> StaffUser:
    """The signed-in staff user (bearer token or console cookie), looked up once per request."""
    known: StaffUser | None = getattr(request.state, "staff", None)
    if known is not None:
        return known
    token = staff_token(request)
    if not token:
        raise Unauthorized(
            "sign in as staff: POST /api/v1/auth/login, then send 'Authorization: Bearer TOKEN'"
        )
    settings: Settings = request.app.state.settings
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    user = accounts.user_for_token(session, token, clock.now(), idle)
    request.state.staff = user
    return user


Staff = Annotated[StaffUser, Depends(current_staff)]


class LoginRequired(Exception):
    """A page for signed-in people was asked for without a valid session: the answer sends them to sign in
    (``to``), one handler in ``supervision.main``."""

    def __init__(self, to: str) -> None:
        super().__init__(to)
        self.to = to


def console_staff(request: Request, session: DbSession, clock: ClockDep) -> StaffUser:
    """The signed-in officer of a console page; without one, the page sends them to sign in."""
    try:
        return current_staff(request, session, clock)
    except Unauthorized:
        raise LoginRequired("/staff/login") from None


ConsoleStaff = Annotated[StaffUser, Depends(console_staff)]


def actor(user: StaffUser) -> str:
    return f"staff:{user.username}"


# ------------------------------------------------------------------------------------------- portal


def portal_holder_or_none(request: Request, session: DbSession, clock: ClockDep) -> KeyHolder | None:
    """The institution signed in to the portal, or None."""
    token = PORTAL.token(request)
    if not token:
        return None
    settings: Settings = request.app.state.settings
    try:
        return keys.holder_for_session(
            session, token, clock.now(), dt.timedelta(minutes=settings.session_idle_minutes)
        )
    except Unauthorized:
        return None


def portal_holder(holder: Annotated[KeyHolder | None, Depends(portal_holder_or_none)]) -> KeyHolder:
    """The institution of a portal page; without a session, the page sends the visitor to sign in."""
    if holder is None:
        raise LoginRequired("/portal")
    return holder


PortalVisitor = Annotated[KeyHolder | None, Depends(portal_holder_or_none)]
PortalHolder = Annotated[KeyHolder, Depends(portal_holder)]


# --------------------------------------------------------------------------------------- rate limit


def client_address(request: Request) -> str:
    """The client's address: the socket's, or what a trusted proxy says (applied by the server)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class RateLimit:
    """A dependency counting one hit of the client address in ``<name>:<address>`` (限流), taken before the
    body is read, in a transaction of its own committed at once (a request that fails is still counted).
    The address is the socket's, or what a trusted proxy says (``SUPERVISION_TRUSTED_PROXIES``, applied by
    the server). ``limits`` gives (hits, window in seconds) from the settings. With ``refuse`` the dependency
    raises :class:`RateLimited` (``refuse`` formats its detail); without it the route gets the verdict and
    answers itself (a form shown again, filled in)."""

    name: str
    limits: Callable[[Settings], tuple[int, int]]
    refuse: Callable[[ratelimit.Verdict, int], str] | None = None

    def __call__(self, request: Request, clock: ClockDep, settings: SettingsDep) -> ratelimit.Verdict:
        limit, window = self.limits(settings)
        client = client_address(request)
        verdict = ratelimit.hit_committed(
            request.app.state.engine,
            f"{self.name}:{client}",
            now=clock.now(),
            limit=limit,
            window_seconds=window,
        )
        if not verdict.allowed and self.refuse is not None:
            raise RateLimited(self.refuse(verdict, window), verdict.retry_after_seconds)
        return verdict


# ------------------------------------------------------------------------------------------- as of


def as_of_date(
    clock: ClockDep,
    settings: SettingsDep,
    as_of: dt.date | None = Query(
        None, description="business date YYYY-MM-DD (default: today in Asia/Shanghai), within the window"
    ),
) -> dt.date:
    """The business date a request asks about: ``as_of``, at most ``as_of_window_years`` from today (422
    beyond), or today."""
    today = clock.today()
    if as_of is None:
        return today
    years = settings.as_of_window_years
    return check_within(as_of, years_after(today, -years), years_after(today, years), "query.as_of")


AsOfDate = Annotated[dt.date, Depends(as_of_date)]


def list_date_window(clock: ClockDep, settings: SettingsDep) -> tuple[dt.date, dt.date]:
    """The dates a list edition may be published as of: from ``as_of_window_years`` back to
    ``publish_ahead_days`` ahead of today."""
    today = clock.today()
    return years_after(today, -settings.as_of_window_years), today + dt.timedelta(
        days=settings.publish_ahead_days
    )


ListDateWindow = Annotated[tuple[dt.date, dt.date], Depends(list_date_window)]
