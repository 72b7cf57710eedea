"""Request-body size limits (an ASGI middleware), one per path prefix, checked while the body is read.

A declared Content-Length over the limit is refused at once; a body that grows past it while streaming
(chunked uploads) is cut off. Either way the client gets a 413 in the usual error shape and nothing is read
into memory beyond the limit. The limits are read at each request (``max_bytes`` is a function), so a change
of settings applies to the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supervision.core.errors import TooLarge


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class BodyLimit:
    """The largest body of the requests whose path starts with ``prefix``; ``detail`` is the refusal, with
    ``{limit}`` (bytes) and ``{mb}`` (whole MiB) filled in."""

    prefix: str
    max_bytes: Callable[[], int]
    detail: str = "the request body is larger than {limit} bytes"

    def refusal(self) -> TooLarge:
        limit = self.max_bytes()
        return TooLarge(self.detail.format(limit=limit, mb=limit // (1024 * 1024)))


Answer = Callable[[Scope, TooLarge], ASGIApp]


def json_answer(scope: Scope, err: TooLarge) -> ASGIApp:
    return JSONResponse(err.as_dict(), status_code=err.status)


class BodySizeLimit:
    """``limits``: the most specific prefix applies; ``default`` applies to every other path. ``answer`` makes
    the 413 (the application's error page or JSON)."""

    def __init__(
        self,
        app: ASGIApp,
        default: BodyLimit,
        limits: Sequence[BodyLimit] = (),
        answer: Answer = json_answer,
    ) -> None:
        self.app = app
        self.default = default
        self.limits = sorted(limits, key=lambda lim: len(lim.prefix), reverse=True)
        self.answer = answer

    def limit_for(self, path: str) -> BodyLimit:
        return next((lim for lim in self.limits if path.startswith(lim.prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        max_bytes = limit.max_bytes()
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self.answer(scope, limit.refusal())(scope, receive, send)
            return
        seen = 0
        exceeded = False
        answered = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the application made of the cut-off body (a parse error, say), the answer is a 413.
            nonlocal answered
            if exceeded:
                if not answered:
                    answered = True
                    await self.answer(scope, limit.refusal())(scope, receive, send)
                return
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not answered:
                await self.answer(scope, limit.refusal())(scope, receive, send)
