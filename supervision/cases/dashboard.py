"""The console's dashboard (工作台): the figures of one grid (网格) or of the whole district on one page
(``enforcement.md``, "The console").

Every figure is counted by PostgreSQL in a handful of statements (``queries.dashboard_*``); nothing here
loops over rows of the registry. The charts are drawn from these figures by :mod:`supervision.core.charts`.
"""

from __future__ import annotations

import calendar
import datetime as dt

from sqlmodel import Session

from supervision.cases import queries
from supervision.cases.models import CASE_STATES, OPEN_STATES
from supervision.cases.schemas import (
    STATE_ZH,
    CaseCounts,
    ComplaintCounts,
    Dashboard,
    InspectionCoverage,
    InstitutionCounts,
    MonthCount,
    RectificationDue,
    RiskTierCounts,
)
from supervision.core import charts, rulebook
from supervision.core.clock import SHANGHAI
from supervision.core.errors import Invalid, Problem

CATEGORIES = ("subject", "non_subject", "unlicensed")
STATUSES = ("operating", "suspended", "closed")
SEVERITIES = ("critical", "major", "minor", "notice")
DUE_DAYS = 14
"""Rectifications due within this many days (today included) are listed."""
DUE_LIST_LIMIT = 20
TREND_MONTHS = 24
CATEGORY_ZH = {"subject": "学科类", "non_subject": "非学科类", "unlicensed": "无办学许可证"}
STATUS_ZH = {"operating": "正常经营", "suspended": "暂停办学", "closed": "已停办"}
SEVERITY_ZH = {"critical": "严重", "major": "较重", "minor": "一般", "notice": "提示"}
TIER_ZH = {"red": "红色", "yellow": "黄色"}


def dashboard(session: Session, *, today: dt.date, grid: str | None, jurisdiction: str) -> Dashboard:
    """The dashboard of ``grid`` (one of the jurisdiction's grids), or of the whole district when ``grid``
    is None, as of the business date ``today``. An unknown grid is bad input (422)."""
    grids = rulebook.grids(jurisdiction)
    if grid is not None and grids and grid not in grids:
        raise Invalid("no such grid", [Problem("grid", f"{grid} is not a grid of this jurisdiction")])

    inspected_since = _months_before(today, 12)
    by_category = dict.fromkeys(CATEGORIES, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    operating = inspected = red = yellow = counted_now = 0
    for r in queries.dashboard_institutions(session, grid=grid, today=today, inspected_since=inspected_since):
        by_category[r.category] += r.n
        by_status[r.status] += r.n
        if r.status == "operating":
            operating += r.n
            if r.category == "subject":
                counted_now = r.n
        inspected += r.inspected
        red += r.red
        yellow += r.yellow

    findings = queries.dashboard_open_findings(session, grid=grid)

    by_state = dict.fromkeys(CASE_STATES, 0)
    overdue = 0
    for r in queries.dashboard_cases(session, grid=grid, today=today):
        by_state[r.state] = int(r.n)
        overdue += int(r.overdue)

    until = today + dt.timedelta(days=DUE_DAYS)
    due = queries.dashboard_rectifications_due(
        session, grid=grid, today=today, until=until, limit=DUE_LIST_LIMIT
    )
    awaiting, late = queries.dashboard_complaints(session, grid=grid, today=today)

    return Dashboard(
        as_of=today,
        grid=grid,
        institutions=InstitutionCounts(
            total=sum(by_status.values()),
            by_category=by_category,
            by_status=by_status,
        ),
        open_findings={s: findings.get(s, 0) for s in SEVERITIES},
        cases=CaseCounts(
            by_state=by_state,
            open=sum(by_state[s] for s in OPEN_STATES),
            overdue=overdue,
        ),
        rectifications_due=[
            RectificationDue(
                reference=r.reference,
                uscc=r.uscc,
                institution_name=r.institution_name,
                grid=r.grid,
                deadline=r.deadline,
            )
            for r in due
        ],
        rectifications_due_total=int(due[0].total) if due else 0,
        rectifications_due_until=until,
        complaints=ComplaintCounts(awaiting_triage=awaiting, past_triage_due=late),
        inspection_coverage=InspectionCoverage(
            since=inspected_since,
            operating=operating,
            inspected=inspected,
            share=inspected / operating if operating else None,
        ),
        risk_tiers=RiskTierCounts(red=red, yellow=yellow),
        subject_trend=subject_trend(session, today=today, grid=grid, counted_now=counted_now),
    )


def dashboard_charts(d: Dashboard) -> dict[str, str]:
    """The dashboard's charts as SVG, by name: ``institutions_by_category``, ``institutions_by_status``,
    ``open_findings``, ``cases_by_state``, ``risk_tiers``, ``subject_trend`` (labels in Chinese)."""
    where = d.grid or "全区"
    severity = {SEVERITY_ZH[k]: c for k, c in charts.SEVERITY_COLOURS.items()}
    tiers = {TIER_ZH[k]: charts.TIER_COLOURS[k] for k in TIER_ZH}
    return {
        "institutions_by_category": charts.bar_chart(
            [(CATEGORY_ZH[k], v) for k, v in d.institutions.by_category.items()],
            title=f"{where}机构（按类别）",
        ),
        "institutions_by_status": charts.bar_chart(
            [(STATUS_ZH[k], v) for k, v in d.institutions.by_status.items()], title=f"{where}机构（按状态）"
        ),
        "open_findings": charts.bar_chart(
            [(SEVERITY_ZH[k], v) for k, v in d.open_findings.items()],
            title=f"{where}未整改问题（按严重程度）",
            colours=severity,
        ),
        "cases_by_state": charts.bar_chart(
            [(STATE_ZH[k], v) for k, v in d.cases.by_state.items()], title=f"{where}案件（按状态）"
        ),
        "risk_tiers": charts.stacked_bar(
            [(TIER_ZH["red"], d.risk_tiers.red), (TIER_ZH["yellow"], d.risk_tiers.yellow)],
            title=f"{where}风险预警机构",
            colours=tiers,
            empty_text="无红色、黄色机构",
        ),
        "subject_trend": charts.line_chart(
            [(m.month, m.count) for m in d.subject_trend],
            title=f"{where}学科类培训机构数（月末，近24个月）",
        ),
    }


def subject_trend(
    session: Session, *, today: dt.date, grid: str | None, counted_now: int
) -> list[MonthCount]:
    """Subject-training institutions (学科类) over the last 24 months (the 压减 goal): per month, the number
    of institutions that were ``operating`` with ``subject`` in their licence scope at the end of the month
    (at the end of today for the current month), in the grid they were registered in then.

    The source is the registry's own audit log, the most faithful record there is: every creation, change and
    deletion of an institution is there with the whole document before and after, append-only. The current
    registry gives today's count; an institution changed after a month's end is counted by the document it
    had then (the ``before`` of its first later change), and one created after it is not counted. Licence
    approval dates would not do: they cannot tell when an institution stopped operating, which is exactly
    what the reduction is about. List editions would not either: the white list leaves out institutions with
    critical findings or without escrow, and editions exist only from the first publication.

    Before the registry's first record (the first import) nothing is known: those months have ``count``
    None rather than a made-up zero. The current month always has the current registry's count,
    ``counted_now`` (the dashboard counts it with the institutions)."""
    months = _trend_months(today)
    labels = [m for m, _ in months]
    boundaries = [dt.datetime.combine(d + dt.timedelta(days=1), dt.time(0), SHANGHAI) for _, d in months]
    rows = queries.dashboard_subject_trend(session, grid=grid, labels=labels, boundaries=boundaries)
    out: list[MonthCount] = []
    for (label, day), boundary, (_, older, first, delta) in zip(months, boundaries, rows, strict=True):
        known = day == today or older or (first is not None and first < boundary)
        out.append(MonthCount(month=label, as_of=day, count=counted_now + delta if known else None))
    return out


def _trend_months(today: dt.date) -> list[tuple[str, dt.date]]:
    """The last ``TREND_MONTHS`` months, oldest first: (``YYYY-MM``, the month's last day or today)."""
    out: list[tuple[str, dt.date]] = []
    for back in range(TREND_MONTHS - 1, -1, -1):
        index = today.year * 12 + today.month - 1 - back
        year, month = divmod(index, 12)
        first = dt.date(year, month + 1, 1)
        following = _months_before(first, -1)
        out.append((f"{year:04d}-{month + 1:02d}", min(following - dt.timedelta(days=1), today)))
    return out


def _months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (later when negative), clamped to the month's length."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


__all__ = ["DUE_DAYS", "dashboard", "dashboard_charts", "subject_trend"]
