"""CSRF protection, one scheme for every cookie-authenticated state change: a double-submit token.

Every page of the console and the portal, the sign-in forms and the public complaint form set a random token
in an HttpOnly, SameSite=Strict cookie and put it in their forms (a hidden field ``csrf_token``; the portal's
forms name it ``csrf``). A state change is accepted only when the token sent (that field, or the
``X-CSRF-Token`` header) equals the cookie (compared in constant time) and, when the browser sends an
``Origin``, it is this site. Another site can neither read the cookie nor make the browser send it.

:func:`guard` is applied to every request by the application-wide permission check: any POST, PUT, PATCH or
DELETE to a page (console, portal, sign-in, sign-out, public forms), and any such request to the API that is
authenticated by the console's cookie instead of a bearer token (a request with ``Authorization`` is not
authenticated by a cookie, and no other site can make a browser send that header). A multipart form (an
upload) is read by its route within its size limits, which checks the token itself (:func:`valid`).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from supervision.accounts.permissions import Perm
from supervision.core.errors import Forbidden
from supervision.web.sessions import STAFF, cookie_name, secure

COOKIE = "sv_csrf"
FIELD = "csrf_token"
PORTAL_FIELD = "csrf"
HEADER = "x-csrf-token"
MAX_AGE = 2 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
KEEPS_THE_FORM = frozenset({"/complaints"})
"""Public forms whose route checks the token itself, to show the form again filled in (nothing typed is
lost) with the refusal (403)."""
NOT_BY_COOKIE = frozenset({Perm.PUBLIC, Perm.INSTITUTION})
"""API routes a cookie does not authenticate (public, or an institution's key)."""


def token(request: Request) -> str:
    """The token for a form: the visitor's current one, or a new one (set it with :func:`attach`)."""
    current = request.cookies.get(cookie_name(request, COOKIE))
    if current and 20 <= len(current) <= 100:
        return current
    return secrets.token_urlsafe(32)


def attach(request: Request, response: Response, value: str) -> None:
    """Set (or renew) the token's cookie on the page that carries the form; Secure over HTTPS."""
    response.set_cookie(
        cookie_name(request, COOKIE),
        value,
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=secure(request) or request.url.scheme == "https",
    )


def valid(request: Request, submitted: str | None) -> bool:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            return False
    cookie = request.cookies.get(cookie_name(request, COOKIE))
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


def expired() -> Forbidden:
    return Forbidden(
        "the form has expired or did not come from this site; reload the page and try again", "csrf"
    )


async def guard(request: Request, perm: Perm) -> None:
    """Refuse (403 ``csrf``) a state change that needs the token and lacks it (see the module's text)."""
    if request.method in SAFE_METHODS or request.headers.get("authorization"):
        return
    if request.url.path in KEEPS_THE_FORM:
        return  # a bearer token is sent by the caller's own code; no other site can add it
    submitted = request.headers.get(HEADER)
    if request.url.path.startswith("/api/"):
        by_cookie = STAFF.token(request) is not None
        if perm in NOT_BY_COOKIE or request.url.path == "/api/v1/auth/login" or not by_cookie:
            return
    elif submitted is None:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            return  # the route reads its upload within its limits and checks the token
        if kind == "application/x-www-form-urlencoded":
            if getattr(request, "_form", None) is None:  # not parsed yet for the route's own fields
                await request.body()  # kept: a route that reads the raw body still can
            form = await request.form()
            value = form.get(FIELD) or form.get(PORTAL_FIELD)
            submitted = value if isinstance(value, str) else None
    if not valid(request, submitted):
        raise expired()
