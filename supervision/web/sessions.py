"""The cookies of the two server-side sessions: the console's officers (``accounts``, table ``staff_session``)
and the portal's institutions (``escrow.keys``, table ``portal_session``).

They are different principals with different lifetimes and revocation (a portal session ends with its key), so
each keeps its own table, but both follow one pattern: a random token in an httponly, SameSite=Strict cookie,
only its SHA-256 stored, a row that expires and is revoked at sign-out. The cookie handling is here, once.

With ``SUPERVISION_SECURE_COOKIES`` (the service is served over HTTPS) every cookie of the service is
``Secure`` and named with the ``__Host-`` prefix, which a browser accepts only from this host, over HTTPS,
with path ``/``: no other host, subdomain or plain-HTTP page can set or shadow it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

from supervision.settings import Settings


def secure(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.secure_cookies


def cookie_name(request: Request, base: str) -> str:
    """``base``, or ``__Host-base`` when the service is served over HTTPS (``secure_cookies``)."""
    return f"__Host-{base}" if secure(request) else base


@dataclass(frozen=True)
class SessionCookie:
    cookie: str
    path: str = "/"

    def token(self, request: Request) -> str | None:
        return request.cookies.get(cookie_name(request, self.cookie)) or None

    def attach(self, request: Request, response: Response, token: str, hours: int) -> None:
        https = secure(request)
        response.set_cookie(
            cookie_name(request, self.cookie),
            token,
            httponly=True,
            samesite="strict",
            max_age=hours * 3600,
            path="/" if https else self.path,
            secure=https,
        )

    def clear(self, request: Request, response: Response) -> None:
        https = secure(request)
        response.delete_cookie(
            cookie_name(request, self.cookie),
            path="/" if https else self.path,
            secure=https,
            httponly=True,
            samesite="strict",
        )


STAFF = SessionCookie("sv_staff")
PORTAL = SessionCookie("sv_portal", path="/portal")
