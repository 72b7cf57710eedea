"""The console's escrow pages (预收费监管): who files, who is short; one institution's statements, ledger,
balances over time (an inline SVG chart, no script, no CDN) and keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supervision.accounts.models import StaffUser
from supervision.core.pagination import MAX_PAGE
from supervision.escrow import keys, service
from supervision.registry import service as registry
from supervision.settings import Settings
from supervision.web.deps import ClockDep, ConsoleStaff, DbSession, SettingsDep, actor
from supervision.web.templating import render

router = APIRouter(prefix="/staff/escrow", include_in_schema=False)

PAGE = 50
LINES_PAGE = 200


@router.get("", response_class=HTMLResponse)
def overview(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    q: str | None = Query(None, max_length=100),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    total, items = service.overview(session, q=q, limit=PAGE, offset=(page - 1) * PAGE)
    return render(
        request,
        "staff/escrow.html",
        {"user": user, "items": items, "total": total, "q": q, "page": page, "page_size": PAGE},
    )


@router.get("/{uscc}", response_class=HTMLResponse)
def institution(
    uscc: str,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    return _institution_page(request, session, clock, settings, user, uscc, page)


def _institution_page(
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: Settings,
    user: StaffUser,
    uscc: str,
    page: int,
    issued: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    inst = service.institution_for_staff(session, uscc)
    _, statements = service.list_statements(session, inst["id"], limit=500, offset=0)
    series = service.balance_series(session, inst["id"])
    ledger = service.ledger_page(session, inst["id"], limit=PAGE, offset=(page - 1) * PAGE)
    return render(
        request,
        "staff/escrow_institution.html",
        {
            "user": user,
            "inst": inst,
            "risk": registry.risk(session, uscc),
            "statements": statements,
            "chart": chart(series),
            "series": series,
            "balances": ledger["balances"],
            "transactions": ledger["transactions"],
            "txn_total": ledger["total"],
            "page": page,
            "page_size": PAGE,
            "keys": [(k, keys.key_status(k, clock.now())) for k, _ in keys.list_keys(session, uscc)],
            "issued": issued,
            "now": service.requirement_now(
                session, inst["id"], as_of=clock.today(), jurisdiction=settings.jurisdiction
            ),
        },
        status_code=status_code,
    )


@router.get("/{uscc}/statements/{statement_id}", response_class=HTMLResponse)
def statement(
    uscc: str,
    statement_id: int,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    inst = service.institution_for_staff(session, uscc)
    view = service.view(session, inst["id"], statement_id)
    total, lines = service.statement_lines(
        session, inst["id"], statement_id, limit=LINES_PAGE, offset=(page - 1) * LINES_PAGE, type_=None
    )
    ledger = service.ledger_page(session, inst["id"], limit=1000, offset=0, statement_id=statement_id)
    return render(
        request,
        "staff/escrow_statement.html",
        {
            "user": user,
            "inst": inst,
            "s": view,
            "lines": lines,
            "lines_total": total,
            "page": page,
            "page_size": LINES_PAGE,
            "transactions": ledger["transactions"],
        },
    )


@router.post("/{uscc}/keys")
def issue_key(
    uscc: str,
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    days: int = Form(keys.DEFAULT_DAYS),
    label: str = Form("", max_length=100),
) -> Response:
    """Issue a key; the page shows it this once. (Staff cookies are SameSite=Strict.)"""
    key, _ = keys.issue(
        session, uscc=uscc, now=clock.now(), actor=actor(user), days=days, label=label.strip()
    )
    return _institution_page(request, session, clock, settings, user, uscc, 1, issued=key, status_code=201)


@router.post("/{uscc}/keys/{public_id}/revoke")
def revoke_key(
    uscc: str, public_id: str, request: Request, user: ConsoleStaff, session: DbSession, clock: ClockDep
) -> Response:
    keys.revoke(session, public_id=public_id, now=clock.now(), actor=actor(user))
    return RedirectResponse(f"/staff/escrow/{uscc}#keys", status_code=303)


# -------------------------------------------------------------------------------------------- chart

CHART_LINES = (
    ("closing_balance_fen", "期末余额", "#0b57d0"),
    ("unearned_liability_fen", "未消课预收费", "#b3261e"),
    ("supervised_fen", "监管资金", "#1e6b2e"),
    ("required_fen", "应监管金额", "#8a5a00"),
)


def chart(series: list[dict[str, Any]], width: int = 720, height: int = 260) -> dict[str, Any] | None:
    """Polylines for balances per period, scaled into an SVG viewBox (integer fen in, coordinates out)."""
    if not series:
        return None
    left, right, top, bottom = 90, 40, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [s[k] or 0 for s in series for k, _, _ in CHART_LINES]
    top_value = max(max(values), 1)
    step = plot_w / max(len(series) - 1, 1)

    def x(i: int) -> float:
        return round(left + (i * step if len(series) > 1 else plot_w / 2), 1)

    def y(v: int) -> float:
        return round(top + plot_h - plot_h * v / top_value, 1)

    lines = [
        {
            "label": label,
            "colour": colour,
            "points": " ".join(f"{x(i)},{y(s[key] or 0)}" for i, s in enumerate(series)),
            "dots": [(x(i), y(s[key] or 0), s["period"], s[key] or 0) for i, s in enumerate(series)],
        }
        for key, label, colour in CHART_LINES
    ]
    ticks = [(y(top_value * n // 4), top_value * n // 4) for n in range(5)]
    every = max(1, len(series) // 12)
    labels = [(x(i), s["period"]) for i, s in enumerate(series) if i % every == 0 or i == len(series) - 1]
    return {
        "width": width,
        "height": height,
        "left": left,
        "top": top,
        "bottom": top + plot_h,
        "right": width - right,
        "lines": lines,
        "ticks": ticks,
        "labels": labels,
    }
