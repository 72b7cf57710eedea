"""The cookies of the two server-side sessions: the console's officers (``accounts``, table ``staff_session``)
and the portal's institutions (``escrow.keys``, table ``portal_session``).

They are different principals with different lifetimes and revocation (a portal session ends with its key), so
each keeps its own table, but both follow one pattern: a random token in an httponly, SameSite=Strict cookie,
only its SHA-256 stored, a row that expires and is revoked at sign-out. The cookie handling is here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response


@dataclass(frozen=True)
class SessionCookie:
    cookie: str
    path: str = "/"

    def token(self, request: Request) -> str | None:
        return request.cookies.get(self.cookie) or None

    def attach(self, response: Response, token: str, hours: int) -> None:
        response.set_cookie(
            self.cookie, token, httponly=True, samesite="strict", max_age=hours * 3600, path=self.path
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)


STAFF = SessionCookie("sv_staff")
PORTAL = SessionCookie("sv_portal", path="/portal")
