"""The permission matrix: every route of the application has a declared permission, and every kind of
caller (anonymous, an institution's key, an auditor, an officer of the route's grid and of another grid, a
supervisor, an administrator) is let through exactly where the route table says, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine
from starlette.routing import Mount

from supervision.accounts.permissions import GRANTS, Perm, Role
from supervision.web.permissions import ROUTES, route_key
from tests.conftest import LiveServer, form_token, portal_login, sign_in
from tests.escrow.helpers import institution_with_key

PRINCIPALS = ("anonymous", "institution", "auditor", "officer", "outsider", "supervisor", "admin")
ROLE_OF = {
    "auditor": Role.AUDITOR,
    "officer": Role.OFFICER,
    "outsider": Role.OFFICER,
    "supervisor": Role.SUPERVISOR,
    "admin": Role.ADMIN,
}
VALUES = {
    "uscc": "91440106MA5ABCDE1X",
    "kind": "white",
    "seq": "1",
    "reference": "AJ2026-000001",
    "statement_id": "1",
    "finding_id": "1",
    "run_id": "1",
    "decision_id": "1",
    "proposal_id": "1",
    "step": "approve",
    "attachment_id": "1",
    "public_id": "nokey000000",
}


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the application answers, included routers and framework routes too."""

    def walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes)
            elif isinstance(r, Mount):
                continue  # static files: no route of ours
            else:
                for method in sorted(getattr(r, "methods", None) or ()):
                    if method != "HEAD":
                        yield method, r.path_format

    return sorted(set(walk(list(app.routes))))


def test_every_route_declares_a_permission(live: LiveServer) -> None:
    routes = app_routes(live.app)
    assert len(routes) > 90
    undeclared = [route_key(m, p) for m, p in routes if route_key(m, p) not in ROUTES]
    assert undeclared == []
    stale = sorted(set(ROUTES) - {route_key(m, p) for m, p in routes})
    assert stale == [], "rows for routes that no longer exist"


def test_a_route_without_a_declared_permission_is_caught_and_refused(live: LiveServer) -> None:
    extra = APIRouter()

    @extra.get("/api/v1/undeclared")
    def undeclared() -> dict[str, str]:
        return {"secret": "x"}

    live.app.include_router(extra)
    try:
        missing = [route_key(m, p) for m, p in app_routes(live.app) if route_key(m, p) not in ROUTES]
        assert missing == ["GET /api/v1/undeclared"]
        r = httpx.get(f"{live.url}/api/v1/undeclared")
        assert r.status_code == 403 and r.json()["error"] == "forbidden_route"
    finally:
        live.app.router.routes[:] = [
            r for r in live.app.router.routes if getattr(r, "original_router", None) is not extra
        ]


@pytest.fixture(scope="module")
def callers(live: LiveServer, engine: Engine) -> Iterator[dict[str, httpx.Client]]:
    clients: dict[str, httpx.Client] = {}
    for name in PRINCIPALS:
        client = httpx.Client(
            base_url=live.url, timeout=30, follow_redirects=False, headers={"Accept": "application/json"}
        )
        if name in ROLE_OF:
            grids = {"officer": ("石牌",), "outsider": ("五山",)}.get(name, ())
            sign_in(live, engine, client, ROLE_OF[name].value, grids)
        elif name == "institution":
            _, key = institution_with_key(engine)
            client.headers["X-API-Key"] = key  # the API; the portal signs in with the same key
            assert portal_login(client, key).status_code == 303
        # every form's CSRF token (the permission table is what is tested here; test_csrf tests the token)
        client.headers["X-CSRF-Token"] = form_token(client, "/portal")
        clients[name] = client
    yield clients
    for c in clients.values():
        c.close()


def expected(perm: Perm, principal: str) -> bool:
    if perm in (Perm.PUBLIC, Perm.STAFF_SIGN_IN):
        return True
    if perm is Perm.INSTITUTION:
        return principal == "institution"
    role = ROLE_OF.get(principal)
    return role is not None and perm in GRANTS[role]


def refused(r: httpx.Response) -> bool:
    """Turned away before the handler's own work: not signed in (401, or sent to a sign-in page) or the
    role lacks the permission (403 ``forbidden_role``)."""
    if r.status_code == 401:
        return True
    if r.status_code in (302, 303, 307) and r.headers.get("location", "").endswith(
        ("/staff/login", "/portal")
    ):
        return True
    if r.status_code == 403:
        try:
            return r.json().get("error") in ("forbidden_role", "forbidden_route", "unauthorized")
        except ValueError:
            return False
    return False


def test_every_caller_against_every_route(live: LiveServer, callers: dict[str, httpx.Client]) -> None:
    wrong: list[str] = []
    checked = 0
    for method, path in app_routes(live.app):
        perm = ROUTES[route_key(method, path)]
        url = re.sub(r"\{(\w+)\}", lambda m: VALUES[m.group(1)], path)
        for principal, client in callers.items():
            if perm in (Perm.PUBLIC, Perm.STAFF_SIGN_IN) and method != "GET":
                continue  # anyone may: posting forms and sign-ins as everyone proves nothing more
            if path.endswith("/logout"):
                continue  # signing out would end the session the next rows need
            r = client.request(method, url, json={} if method in ("POST", "PUT") else None)
            checked += 1
            if refused(r) == expected(perm, principal):
                wrong.append(f"{principal} {method} {url} ({perm.value}) -> {r.status_code} {r.text[:80]}")
    assert checked > 500
    assert wrong == []


def test_an_officer_acts_only_in_their_grid(
    live: LiveServer, callers: dict[str, httpx.Client], engine: Engine
) -> None:
    doc, _ = institution_with_key(engine)  # registered in grid 石牌
    body = {"uscc": doc["uscc"], "basis": ["LIC-EXPIRED"], "summary": "网格测试"}
    outsider = callers["outsider"].post("/api/v1/cases", json=body)
    assert outsider.status_code == 403 and "grid" in outsider.json()["detail"]
    mine = callers["officer"].post("/api/v1/cases", json=body)
    assert mine.status_code == 201, mine.text
    ref = mine.json()["case"]["reference"]
    step = {"version": mine.json()["case"]["version"], "action": "start"}
    assert callers["outsider"].post(f"/api/v1/cases/{ref}/actions", json=step).status_code == 403
    assert callers["auditor"].post(f"/api/v1/cases/{ref}/actions", json=step).status_code == 403
    assert callers["supervisor"].post(f"/api/v1/cases/{ref}/actions", json=step).status_code == 200


def test_the_table_says_what_enforcement_md_says() -> None:
    """The roles of enforcement.md, read off the table: the auditor changes nothing, only supervisors
    publish lists, administrators manage keys and never work cases, officers work cases."""

    def allowed(role: Role) -> set[str]:
        return {key for key, perm in ROUTES.items() if perm in GRANTS[role]}

    writes = {key for key in ROUTES if not key.startswith("GET ")}
    assert allowed(Role.AUDITOR) & writes == set()
    assert {k for k in writes if ROUTES[k] is Perm.LISTS_PUBLISH} <= allowed(Role.SUPERVISOR)
    assert {k for k in writes if ROUTES[k] is Perm.LISTS_PUBLISH} & allowed(Role.OFFICER) == set()
    assert "POST /api/v1/cases/{reference}/actions" not in allowed(Role.ADMIN)
    assert "DELETE /api/v1/escrow/keys/{public_id}" in allowed(Role.ADMIN) - allowed(Role.SUPERVISOR)
    assert "POST /api/v1/cases/{reference}/actions" in allowed(Role.OFFICER)
    assert all(key.startswith("GET ") for key in allowed(Role.AUDITOR))
