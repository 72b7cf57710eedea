"""Two ASGI middlewares of the door: what comes in (:class:`InputGuard`) and the headers on what goes out
(:class:`SecurityHeaders`).

:class:`InputGuard` refuses, with a 422 naming where, a request whose path or query string holds a NUL
character, and any JSON body outside the bounds of :mod:`supervision.core.inputs` (nesting, 64-bit integers,
NUL, lone surrogates). A JSON body is checked as the application reads it, so a route that reads its body
only after a rate limit or a sign-in still does. Plain ASGI, like the other middlewares (see
:mod:`supervision.web.middleware`).
"""

from __future__ import annotations

import email.message
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supervision.core import inputs
from supervision.core.errors import DomainError, Invalid, Problem

Answer = Callable[[Scope, DomainError], ASGIApp]


def json_answer(scope: Scope, err: DomainError) -> ASGIApp:
    return JSONResponse(err.as_dict(), status_code=err.status)


class BodyRefused(Exception):
    pass


def is_json(scope: Scope) -> bool:
    """Whether the request says its body is JSON (``application/json`` or ``application/…+json``)."""
    value = next((v for k, v in scope.get("headers") or () if k == b"content-type"), None)
    if value is None:
        return False
    message = email.message.Message()
    message["content-type"] = value.decode("latin-1")
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def url_problems(scope: Scope) -> list[Problem]:
    """NUL characters (``%00``) in the path or the query string, by parameter."""
    found: list[Problem] = []
    if problem := inputs.text_problem(scope.get("path", "")):
        found.append(Problem("path", problem))
    query = scope.get("query_string") or b""
    if query:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if problem := inputs.text_problem(key) or inputs.text_problem(value):
                found.append(Problem(f"query.{key.replace(chr(0), '?')}", problem))
    return found


class InputGuard:
    """``answer`` makes the 422 (the application's error page or JSON)."""

    def __init__(self, app: ASGIApp, answer: Answer = json_answer) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = url_problems(scope)
        if found:
            await self.answer(scope, Invalid("the address is not valid", found))(scope, receive, send)
            return
        if not is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        refused: Invalid | None = None
        answered = False

        async def checked_receive() -> Message:
            nonlocal refused
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    chunks.clear()
                    if body.strip():
                        try:
                            inputs.decode(body)
                        except Invalid as err:
                            refused = err
                            raise BodyRefused from None
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the application made of the refused body (a parse error, say), the answer is the 422.
            nonlocal answered
            if refused is not None:
                if not answered:
                    answered = True
                    await self.answer(scope, refused)(scope, receive, send)
                return
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, checked_receive, guarded_send)
        except BodyRefused:
            if not answered and refused is not None:
                answered = True
                await self.answer(scope, refused)(scope, receive, send)


# ------------------------------------------------------------------------------------------- headers

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
"""Every page: scripts, styles and images from the service itself, no inline script or style."""
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""The API documentation (Swagger UI, ReDoc, served from the service): their pages start the viewer with an
inline script and style it inline; nothing else gets that."""
DOCS_PATHS = ("/docs", "/redoc")
NO_STORE_PREFIXES = ("/staff", "/portal", "/api/v1/auth")
"""Pages and answers no cache may keep: the console, the institutions' portal, sign-in (its token)."""
CREDENTIALS = (b"authorization", b"x-api-key")

HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds the security headers to every answer: Content-Security-Policy (the documentation's own on its
    pages), framing refused, no MIME sniffing, the referrer kept to the site; and ``Cache-Control: no-store``
    on the console, the portal and sign-in, and on any answer to a request carrying credentials that does
    not say itself how it may be cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else CSP
        force_no_store = path.startswith(NO_STORE_PREFIXES)
        credentials = any(k in CREDENTIALS for k, _ in scope.get("headers") or ())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (force_no_store and k.lower() == b"cache-control")
                ]
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp.encode()))
                if force_no_store or (credentials and b"cache-control" not in present):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
