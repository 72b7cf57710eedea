"""The request context middleware: a request id (from ``X-Request-ID`` or new) for logs and audit rows, echoed
back in the response, and one log line per request. A client's ``X-Request-ID`` is kept only when it is 1 to
64 letters, digits, ``.``, ``_`` or ``-`` (it ends up in the append-only audit log); any other gets a new one.

A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs every request through an extra task
and memory stream, which halved the rate at which this server could answer at all.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supervision.core.audit import request_id_var

log = logging.getLogger("supervision.http")

SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-ID`` when it is safe to log and store, else a new one."""
    given = next((v for k, v in headers if k == b"x-request-id"), None)
    if given is not None and SAFE_REQUEST_ID.fullmatch(given):
        return given.decode("ascii")
    return uuid.uuid4().hex


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope["headers"])
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - start) * 1000, 2),
                    },
                )
