"""The application factory: routers, middleware, error handlers; nothing else."""

from __future__ import annotations

import gc
import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Scope

from supervision.core.clock import Clock
from supervision.core.clock import from_settings as clock_from_settings
from supervision.core.errors import DomainError, Invalid, Problem, Unavailable, problems_from_pydantic
from supervision.core.limits import BodyLimit, BodySizeLimit
from supervision.core.logging import configure as configure_logging
from supervision.settings import ROOT, Settings, get_settings
from supervision.web import openapi, templating
from supervision.web.api import auth, cases, decisions, escrow, findings, lists, ops, public, registry, rules
from supervision.web.deps import LoginRequired, console_staff, current_staff, portal_holder
from supervision.web.middleware import RequestContext
from supervision.web.permissions import authorize
from supervision.web.portal import pages as portal_pages
from supervision.web.public import complaints as public_complaints
from supervision.web.public import lists as public_lists
from supervision.web.public import pages as public_pages
from supervision.web.security import InputGuard, SecurityHeaders
from supervision.web.staff import casework as staff_casework
from supervision.web.staff import decisions as staff_decisions
from supervision.web.staff import escrow as staff_escrow
from supervision.web.staff import findings as staff_findings
from supervision.web.staff import pages as staff_pages

log = logging.getLogger("supervision.http")

STATEMENT_TOO_LARGE = "a statement may be at most {limit} bytes ({mb} MB)"


def body_limits(settings: Settings) -> tuple[BodyLimit, list[BodyLimit]]:
    """The request-size limits: the statements' (JSON, CSV and the portal's upload) and the self-check's, and
    everything else's. Read at each request, so a change of ``settings`` applies at once."""
    default = BodyLimit("/", lambda: settings.max_upload_bytes)
    return default, [
        BodyLimit("/api/v1/escrow/statements", lambda: settings.max_statement_bytes, STATEMENT_TOO_LARGE),
        BodyLimit("/portal/statements", lambda: settings.max_statement_bytes, STATEMENT_TOO_LARGE),
        BodyLimit(
            "/api/v1/inspections",
            lambda: settings.inspection_max_file_bytes + 64 * 1024,
            "an evidence file is at most {limit} bytes with its form",
        ),
        BodyLimit(
            "/api/v1/rules/evaluate",
            lambda: rules.EVALUATE_MAX_BYTES,
            "a self-check is at most {limit} bytes",
        ),
    ]


def create_app(
    engine: Engine | None = None, clock: Clock | None = None, settings: Settings | None = None
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPIOffline(
        title="校外培训监管 Off-campus training supervision",
        version="0.1.0",
        description="Registry, rule engine, prepaid-fee escrow and public lists (double-reduction policy).",
        dependencies=[Depends(authorize)],
    )
    if engine is None:
        from supervision.db import get_engine

        engine = get_engine()
    app.state.engine = engine
    app.state.clock = clock or clock_from_settings(settings.today)
    app.state.settings = settings

    # Starlette tries routes in order: the parents' pages and the public API, the most requested, come first.
    for router in (
        public_pages.router,
        public.router,
        public_lists.router,
        public_complaints.router,
        ops.router,
        auth.router,
        registry.router,
        escrow.router,
        escrow.staff_router,
        lists.router,
        lists.staff_router,
        decisions.router,
        rules.router,
        findings.router,
        cases.router,
        staff_pages.router,
        staff_casework.router,
        staff_escrow.router,
        staff_decisions.router,
        staff_findings.router,
        portal_pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=ROOT / "supervision" / "web" / "static"), name="static")

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")

    def error_response(request: Request, err: DomainError) -> Response:
        if wants_html(request):
            response: Response = templating.render(
                request, "errors/error.html", {"error": err}, status_code=err.status
            )
        else:
            response = JSONResponse(err.as_dict(), status_code=err.status)
        response.headers.update(err.headers())
        return response

    def refusal(scope: Scope, err: DomainError) -> ASGIApp:
        """The answer of a middleware that refuses a request (too large, out of bounds)."""
        return error_response(Request(scope), err)

    # Each middleware added wraps the ones before: a request meets the request id first, then the security
    # headers, the size limit and the input bounds.
    app.add_middleware(InputGuard, answer=refusal)
    default_limit, limits = body_limits(settings)
    app.add_middleware(BodySizeLimit, default=default_limit, limits=limits, answer=refusal)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(exc.to, status_code=303)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, err: DomainError) -> Response:
        return error_response(request, err)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> Response:
        problems = problems_from_pydantic(list(err.errors()))
        return error_response(request, Invalid("the request is not valid", problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            err.status_code, "http_error"
        )
        response = error_response(request, DomainError(code, str(err.detail), err.status_code))
        response.headers.update(err.headers or {})
        if err.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        return response

    @app.exception_handler(DataError)
    async def unstorable(request: Request, err: DataError) -> Response:
        # The inputs are checked at the door; a value PostgreSQL still refuses (SQLSTATE class 22) is the
        # client's, not a server error. The database's words stay in the log.
        log.warning("a value was refused by the database", exc_info=err)
        problem = Problem("$", "a value in the request cannot be stored (out of range or not valid text)")
        return error_response(request, Invalid("the request is not valid", [problem]))

    @app.exception_handler(OperationalError)
    async def unavailable(request: Request, err: OperationalError) -> Response:
        # A lock or statement timeout, or the database out of reach: the client may try again.
        sqlstate = getattr(err.orig, "sqlstate", None)
        log.warning("the database did not answer in time (%s)", sqlstate, exc_info=err)
        busy = sqlstate in ("55P03", "57014")
        detail = "the service is busy; try again shortly" if busy else "the database is unavailable"
        return error_response(request, Unavailable(detail))

    openapi.install(app, auth=(current_staff, console_staff, portal_holder, escrow.institution_holder))
    return app


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the routes of ``path`` answer (the ``Allow`` of a 405). A path some route names literally
    (``/statements/csv``) is that route's, not also a template's that would read it as a parameter
    (``/statements/{statement_id}``)."""
    matching = [
        route
        for route in iter_route_contexts(app.routes)
        if getattr(route, "path_regex", None) is not None and route.path_regex.match(path)
    ]
    literal = [route for route in matching if getattr(route, "path_format", None) == path]
    return sorted({m for route in literal or matching for m in route.methods or ()})


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory supervision.main:app_factory``, called once in each worker process.

    Once the application is built, every object that exists is moved out of the garbage collector's reach
    (``gc.freeze``): they live as long as the process, and a full collection scanned all of them (some
    150,000, 60 to 90 ms) a few times a second under load, stalling every request in flight. With them
    frozen, the institution page's 99th percentile under load went from 74 ms to 13 ms (bench/RESULTS.md).
    """
    app = create_app()
    gc.freeze()
    return app


__all__ = ["create_app"]
