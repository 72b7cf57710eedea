"""The console's findings pages (规则与问题): findings with filters, one finding with its trace in Chinese,
and the rule runs."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from supervision.compliance import display
from supervision.compliance import service as compliance
from supervision.core.csvout import to_csv
from supervision.core.pagination import MAX_PAGE
from supervision.registry import service as registry
from supervision.web.deps import ClockDep, ConsoleStaff, DbSession
from supervision.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False)

PAGE = 50
EXPORT_LIMIT = 50_000
"""At most this many findings in one CSV export (filter to narrow it)."""


@router.get("/findings", response_class=HTMLResponse)
def findings(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    rule: str | None = Query(None, max_length=64),
    severity: Literal["critical", "major", "minor", "notice", ""] | None = None,
    grid: str | None = Query(None, max_length=50),
    status: Literal["open", "resolved", "all"] = "open",
    uscc: str | None = Query(None, max_length=18),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    format: str | None = Query(None, pattern="^csv$"),
) -> Response:
    filters: dict[str, Any] = {
        "rule": rule or None,
        "severity": severity or None,
        "grid": grid or None,
        "status": None if status == "all" else status,
        "uscc": (uscc or "").strip() or None,
    }
    if format == "csv":
        _, rows = compliance.search_findings(session, **filters, limit=EXPORT_LIMIT, offset=0)
        severity_zh = display.LABELS["severity"]
        return Response(
            to_csv(
                [
                    "规则",
                    "严重程度",
                    "机构",
                    "信用代码",
                    "街道",
                    "对象",
                    "说明",
                    "首次发现",
                    "状态",
                    "解决日期",
                ],
                [
                    [
                        f["rule_id"],
                        severity_zh[f["severity"]],
                        f["institution_name"],
                        f["uscc"],
                        f["grid"],
                        f["subject"],
                        f["message_zh"],
                        f["first_seen_on"],
                        f["status"],
                        f["resolved_on"],
                    ]
                    for f in rows
                ],
            ),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="findings.csv"'},
        )
    total, items = compliance.search_findings(session, **filters, limit=PAGE, offset=(page - 1) * PAGE)
    shown = {k: v for k, v in {**filters, "status": status}.items() if v}
    return render(
        request,
        "staff/findings.html",
        {
            "user": user,
            "items": items,
            "total": total,
            "page": page,
            "page_size": PAGE,
            "filters": {**filters, "status": status},
            "query": urlencode(shown),
            "rules": compliance.rule_titles(clock.today()),
            "grids": registry.grids(request.app.state.settings.jurisdiction),
            "latest": compliance.latest_full_run(session),
            "labels": display.LABELS,
        },
    )


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
def finding(
    finding_id: int, request: Request, user: ConsoleStaff, session: DbSession, clock: ClockDep
) -> Response:
    row = compliance.get_finding(session, finding_id)
    return render(
        request,
        "staff/findings_detail.html",
        {
            "user": user,
            "f": row,
            "trace": display.trace_view(row["trace"], compliance.level_names()),
            "rule": compliance.rule_titles(clock.today()).get(row["rule_id"]),
            "labels": display.LABELS,
        },
    )


@router.get("/rule-runs", response_class=HTMLResponse)
def runs(
    request: Request,
    user: ConsoleStaff,
    session: DbSession,
    clock: ClockDep,
    scope: Literal["full", "institution", ""] | None = None,
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    total, items = compliance.search_runs(session, scope=scope or None, limit=PAGE, offset=(page - 1) * PAGE)
    return render(
        request,
        "staff/findings_runs.html",
        {
            "user": user,
            "items": items,
            "total": total,
            "page": page,
            "page_size": PAGE,
            "scope": scope or "",
            "labels": display.LABELS,
        },
    )


@router.get("/rule-runs/{run_id}", response_class=HTMLResponse)
def run(run_id: int, request: Request, user: ConsoleStaff, session: DbSession, clock: ClockDep) -> Response:
    row = compliance.get_run(session, run_id)
    return render(
        request,
        "staff/findings_run.html",
        {
            "user": user,
            "r": row,
            "calendar": compliance.calendar_coverage(row["jurisdiction"], row["as_of"]),
            "rules": compliance.rule_titles(row["as_of"]),
            "labels": display.LABELS,
        },
    )
