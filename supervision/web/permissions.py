"""Who may call which route (路由权限表): every route of the application, by method and path template, with
the one permission it needs (``supervision.accounts.permissions``: roles grant permissions). One
application-wide dependency (:func:`authorize`) enforces it before any handler runs; a route missing from
the table is refused, and a test walks the whole route table against it.

Grids (officers act only in theirs) and the two-person rule depend on the data, so the services check them.
"""

from __future__ import annotations

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from supervision.accounts.models import StaffUser
from supervision.accounts.permissions import Perm, actor_of, can
from supervision.core.errors import Forbidden, Unauthorized
from supervision.web import csrf
from supervision.web.deps import LoginRequired, current_staff

P, INST, S = Perm.PUBLIC, Perm.INSTITUTION, Perm.STAFF_SIGN_IN
READ = Perm.STAFF_READ

ROUTES: dict[str, Perm] = {
    # The framework's own: the API documentation (served without a CDN).
    "GET /openapi.json": P,
    "GET /docs": P,
    "GET /docs/oauth2-redirect": P,
    "GET /redoc": P,
    # Parents and the public: the search, the public record, the lists and their editions, the negative
    # list, complaints and their status, the self-check; probes.
    "GET /": P,
    "GET /institutions/{uscc}": P,
    "GET /api/v1/public/institutions": P,
    "GET /api/v1/public/institutions/{uscc}": P,
    "GET /lists": P,
    "GET /lists/feed.atom": P,
    "GET /lists/verify": P,
    "GET /lists/{kind}/latest.json": P,
    "GET /lists/{kind}/latest.csv": P,
    "GET /lists/{kind}/editions/{seq}.json": P,
    "GET /lists/{kind}/editions/{seq}.csv": P,
    "GET /lists/{kind}": P,
    "GET /lists/{kind}/editions": P,
    "GET /lists/{kind}/editions/{seq}": P,
    "GET /api/v1/lists/{kind}/latest": P,
    "GET /api/v1/lists/{kind}/editions": P,
    "GET /api/v1/lists/{kind}/editions/{seq}": P,
    "GET /api/v1/lists/{kind}/editions/{seq}/changes": P,
    "GET /negative-list": P,
    "GET /api/v1/rules": P,
    "POST /api/v1/rules/evaluate": P,
    "GET /complaints/new": P,
    "POST /complaints": P,
    "GET /complaints/{reference}": P,
    "GET /livez": P,
    "GET /readyz": P,
    # Institutions, signed in with their API key (their own handler dependency checks the key).
    "POST /api/v1/escrow/statements": INST,
    "POST /api/v1/escrow/statements/csv": INST,
    "GET /api/v1/escrow/statements": INST,
    "GET /api/v1/escrow/statements/{statement_id}": INST,
    "GET /api/v1/escrow/statements/{statement_id}/lines": INST,
    "GET /api/v1/escrow/requirement": INST,
    "GET /api/v1/escrow/ledger": INST,
    "GET /api/v1/escrow/findings": INST,
    "GET /portal": P,  # the sign-in form, or the signed-in institution's page
    "POST /portal/login": P,
    "POST /portal/logout": INST,
    "GET /portal/statements": INST,
    "POST /portal/statements": INST,
    "GET /portal/statements/{statement_id}": INST,
    "GET /portal/findings": INST,
    "GET /portal/notices": INST,
    "POST /portal/notices/{proposal_id}/{step}": INST,
    # Staff sign-in and sign-out.
    "POST /api/v1/auth/login": S,
    "POST /api/v1/auth/logout": S,
    "GET /staff/login": S,
    "POST /staff/login": S,
    "POST /staff/logout": S,
    # The registry: everyone reads; officers, supervisors and administrators write; deleting is rarer.
    "GET /api/v1/institutions": READ,
    "POST /api/v1/institutions": Perm.REGISTRY_WRITE,
    "GET /api/v1/institutions/{uscc}": READ,
    "PUT /api/v1/institutions/{uscc}": Perm.REGISTRY_WRITE,
    "DELETE /api/v1/institutions/{uscc}": Perm.REGISTRY_DELETE,
    "GET /staff/institutions": READ,
    "GET /staff/institutions/{uscc}": READ,
    # Findings and rule runs.
    "GET /api/v1/findings": READ,
    "GET /api/v1/findings/{finding_id}": READ,
    "GET /api/v1/rule-runs": READ,
    "GET /api/v1/rule-runs/{run_id}": READ,
    "GET /staff/findings": READ,
    "GET /staff/findings/{finding_id}": READ,
    "GET /staff/rule-runs": READ,
    "GET /staff/rule-runs/{run_id}": READ,
    # Escrow as staff see it; institution keys are the administrators'.
    "GET /api/v1/escrow/institutions/{uscc}/statements": READ,
    "GET /api/v1/escrow/institutions/{uscc}/statements/{statement_id}": READ,
    "GET /api/v1/escrow/institutions/{uscc}/ledger": READ,
    "GET /api/v1/escrow/institutions/{uscc}/keys": READ,
    "POST /api/v1/escrow/institutions/{uscc}/keys": Perm.KEYS_MANAGE,
    "DELETE /api/v1/escrow/keys/{public_id}": Perm.KEYS_MANAGE,
    "GET /staff/escrow": READ,
    "GET /staff/escrow/{uscc}": READ,
    "GET /staff/escrow/{uscc}/statements/{statement_id}": READ,
    "POST /staff/escrow/{uscc}/keys": Perm.KEYS_MANAGE,
    "POST /staff/escrow/{uscc}/keys/{public_id}/revoke": Perm.KEYS_MANAGE,
    # Decisions (proposed and approved through the case work), lists and their publication.
    "POST /api/v1/decisions": Perm.CASE_WORK,
    "GET /api/v1/decisions/proposals": READ,
    "POST /api/v1/decisions/proposals/{proposal_id}/approve": Perm.DECISION_APPROVE,
    "POST /api/v1/decisions/proposals/{proposal_id}/return": Perm.CASE_ASSIGN,
    "GET /api/v1/decisions": READ,
    "GET /api/v1/decisions/{decision_id}": READ,
    "GET /staff/decisions": READ,
    "POST /staff/decisions": Perm.CASE_WORK,
    "POST /staff/decisions/proposals/{proposal_id}/{step}": Perm.DECISION_APPROVE,
    "GET /api/v1/lists/preview": READ,
    "POST /api/v1/lists/{kind}/publish": Perm.LISTS_PUBLISH,
    "GET /staff/lists": READ,
    "POST /staff/lists/publish": Perm.LISTS_PUBLISH,
    # Case work: cases, the complaints inbox, inspections and their files, the dashboard. Which steps a
    # role may take (assign, approve …), and in which grids, the case services check.
    "GET /api/v1/cases": READ,
    "POST /api/v1/cases": Perm.CASE_WORK,
    "GET /api/v1/cases/{reference}": READ,
    "POST /api/v1/cases/{reference}/actions": Perm.CASE_WORK,
    "GET /api/v1/complaints": READ,
    "GET /api/v1/complaints/{reference}": READ,
    "POST /api/v1/complaints/{reference}/triage": Perm.CASE_WORK,
    "POST /api/v1/complaints/{reference}/match": Perm.CASE_WORK,
    "GET /api/v1/inspections": READ,
    "POST /api/v1/inspections": Perm.CASE_WORK,
    "GET /api/v1/inspections/{reference}": READ,
    "POST /api/v1/inspections/{reference}/attachments": Perm.CASE_WORK,
    "GET /api/v1/attachments/{attachment_id}": READ,
    "GET /api/v1/dashboard": READ,
    "GET /staff": READ,
    "GET /staff/my-work": READ,
    "GET /staff/cases": READ,
    "POST /staff/cases": Perm.CASE_WORK,
    "GET /staff/cases/{reference}": READ,
    "POST /staff/cases/{reference}/actions": Perm.CASE_WORK,
    "GET /staff/complaints": READ,
    "GET /staff/complaints/{reference}": READ,
    "POST /staff/complaints/{reference}/{step}": Perm.CASE_WORK,
    "GET /staff/inspections": READ,
    "GET /staff/inspections/new": READ,
    "POST /staff/inspections": Perm.CASE_WORK,
    "GET /staff/inspections/{reference}": READ,
    "GET /staff/attachments/{attachment_id}": READ,
}
"""Every route and the permission it needs."""

OPEN = frozenset({Perm.PUBLIC, Perm.INSTITUTION, Perm.STAFF_SIGN_IN})


def route_key(method: str, path: str) -> str:
    return f"{'GET' if method == 'HEAD' else method} {path}"


def required(request: Request) -> Perm | None:
    """The permission the request's route needs (None: the route is not in the table)."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None)  # the template without converters ({statement_id:int})
    return None if path is None else ROUTES.get(route_key(request.method, path))


async def authorize(request: Request) -> None:
    """The application-wide check: the route's permission against the signed-in staff user's role. A state
    change needs the CSRF token first (``csrf.guard``). Public, institution and sign-in routes then pass at
    once, without touching the database (an institution's own key is checked by its routes). Signed out, a
    console page sends the visitor to sign in and the API answers 401; a role without the permission gets
    403 (``forbidden_role``)."""
    perm = required(request)
    if perm is None:
        raise Forbidden("this route declares no permission", "forbidden_route")
    await csrf.guard(request, perm)
    if perm in OPEN:
        return
    try:
        user: StaffUser = await run_in_threadpool(_signed_in, request)
    except Unauthorized:
        if request.url.path.startswith("/staff"):
            raise LoginRequired("/staff/login") from None
        raise
    if not can(actor_of(user), perm):
        raise Forbidden(f"a {user.role} may not do this (it needs {perm.value})", "forbidden_role")


def _signed_in(request: Request) -> StaffUser:
    """The staff user of the request's token, looked up in a short session of its own (the request's unit of
    work is the handler's); kept on the request for the handler's ``Staff`` dependency."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        user = current_staff(request, session, request.app.state.clock)
        session.expunge(user)
        session.commit()  # the session's last use
    return user
