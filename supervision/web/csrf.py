"""CSRF protection for every cookie-authenticated form (public, console and portal): a double-submit token.

The form page sets a random token in an HttpOnly, SameSite=Strict cookie and in a hidden field; a POST is
accepted only when both are present and equal (compared in constant time) and, when the browser sends an
``Origin``, it is this site. Another site can neither read the cookie nor make the browser send it.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

COOKIE = "sv_csrf"
FIELD = "csrf_token"
MAX_AGE = 2 * 3600


def token(request: Request) -> str:
    """The token for a form: the visitor's current one, or a new one (set it with :func:`attach`)."""
    current = request.cookies.get(COOKIE)
    if current and 20 <= len(current) <= 100:
        return current
    return secrets.token_urlsafe(32)


def attach(request: Request, response: Response, value: str) -> None:
    """Set (or renew) the token's cookie on the page that carries the form; Secure over HTTPS."""
    response.set_cookie(
        COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def valid(request: Request, submitted: str | None) -> bool:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            return False
    cookie = request.cookies.get(COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())
