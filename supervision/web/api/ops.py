"""Liveness and readiness probes. Why the database cannot be reached goes to the log, never to the caller."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from supervision.db import ping

router = APIRouter(tags=["operations"])
log = logging.getLogger("supervision.ops")


@router.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database unreachable"}})
def readyz(request: Request) -> JSONResponse:
    try:
        ping(request.app.state.engine)
    except Exception:  # readiness reports any failure to reach the database
        log.warning("readiness: the database does not answer", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
