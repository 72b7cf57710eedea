"""The dashboard: every figure of a small registry, for one grid and for the district.

The grid figures are asserted as they are (the grids used here are used by no other test); the district's as
the difference from the dashboard read at the start of the same transaction, since tests over HTTP commit
institutions of their own to the same database."""

from __future__ import annotations

import datetime as dt
import itertools
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from supervision.cases import dashboard
from supervision.cases.models import CASE_STATES, Case, Complaint, Decision, Inspection
from supervision.cases.schemas import Dashboard
from supervision.compliance.models import Finding
from supervision.core.clock import FixedClock
from supervision.core.errors import Invalid
from supervision.registry import service as registry
from tests.conftest import TODAY, example_document

J = "440106"
GRID = "珠吉"
OTHER = "新塘"
NOW = FixedClock.on(TODAY).now()
_n = itertools.count(1)


def at(day: dt.date) -> dt.datetime:
    return FixedClock.on(day).now()


def institution(session: Session, *, now: dt.datetime = NOW, **changes: Any) -> dict[str, Any]:
    doc = example_document(**changes)
    registry.save_documents(session, [registry.validate(doc)], actor="test", now=now)
    return doc


def licence_with(doc: dict[str, Any], categories: list[str]) -> dict[str, Any]:
    licence = dict(doc["licence"])
    licence["scope"] = {**licence["scope"], "categories": categories}
    return licence


NON_SUBJECT_COURSE = {"category": "non_subject", "subject": "arts", "title": "少儿美术"}


def non_subject(**changes: Any) -> dict[str, Any]:
    base = example_document()
    course = {**base["courses"][0], **NON_SUBJECT_COURSE}
    return {"licence": licence_with(base, ["non_subject"]), "courses": [course], **changes}


def finding(session: Session, uscc: str, severity: str, *, open_: bool = True) -> None:
    iid = session.execute(text("SELECT id FROM institution WHERE uscc = :u"), {"u": uscc}).scalar_one()
    session.add(
        Finding(
            institution_id=iid,
            rule_id=f"TEST-{next(_n)}",
            rule_version=1,
            severity=severity,
            subject="institution",
            message_zh="测试",
            message_en="test",
            legal_basis="test",
            trace={},
            digest="x",
            status="open" if open_ else "resolved",
            first_seen_on=TODAY - dt.timedelta(days=10),
            first_run_id=1,
            updated_run_id=1,
            resolved_on=None if open_ else TODAY,
            resolved_run_id=None if open_ else 1,
        )
    )


def case(
    session: Session,
    uscc: str,
    grid: str,
    state: str,
    *,
    decide_by: dt.date,
    deadline: dt.date | None = None,
) -> Case:
    n = next(_n)
    decision_id = None
    if deadline is not None:
        d = Decision(
            reference=f"测试决〔2026〕{n}号-{id(session)}",
            uscc=uscc,
            institution_name="测试机构",
            kind="rectification_order",
            basis=["LIC-EXPIRED"],
            summary="限期整改",
            decided_on=TODAY - dt.timedelta(days=30),
            effective_from=TODAY - dt.timedelta(days=30),
            deadline=deadline,
            officer="test",
            recorded_by="test",
            recorded_at=NOW,
        )
        session.add(d)
        session.flush()
        decision_id = d.id
    c = Case(
        reference=f"AJT-{n:06d}-{id(session) % 100000}",
        uscc=uscc,
        institution_name="测试机构",
        grid=grid,
        source="manual",
        state=state,
        basis=["LIC-EXPIRED"],
        summary="测试",
        finding_ids=[],
        opened_by="test",
        opened_at=NOW,
        opened_on=decide_by - dt.timedelta(days=90),
        decide_by=decide_by,
        decision_id=decision_id,
        version=1,
        updated_at=NOW,
    )
    session.add(c)
    session.flush()
    return c


def complaint(session: Session, grid: str | None, status: str, triage_due: dt.date) -> None:
    n = next(_n)
    session.add(
        Complaint(
            reference=f"JBT-{n}-{id(session) % 100000}",
            text="周末上午违规开设学科类培训",
            created_at=NOW,
            received_on=triage_due - dt.timedelta(days=3),
            triage_due=triage_due,
            grid=grid,
            status=status,
            reason="超出职责范围" if status == "rejected" else None,
        )
    )


def inspection(session: Session, uscc: str | None, grid: str, day: dt.date) -> None:
    n = next(_n)
    session.add(
        Inspection(
            reference=f"JC-{n}-{id(session) % 100000}",
            uscc=uscc,
            address=None if uscc else "天河区某路1号",
            grid=grid,
            inspected_on=day,
            officers=["a", "b"],
            items=[],
            recorded_by="test",
            recorded_at=NOW,
        )
    )


def minus(after: Dashboard, before: Dashboard) -> dict[str, Any]:
    """The figures of ``after`` less those of ``before`` (numbers only; lists as they are)."""

    def diff(a: Any, b: Any) -> Any:
        if isinstance(a, dict):
            return {k: diff(a[k], b[k]) for k in a}
        if isinstance(a, list) and a and isinstance(a[0], dict) and "count" in a[0]:
            return [
                {**x, "count": None if x["count"] is None else x["count"] - (y["count"] or 0)}
                for x, y in zip(a, b, strict=True)
            ]
        if isinstance(a, bool) or not isinstance(a, int):
            return a
        return a - b

    return diff(after.model_dump(), before.model_dump())  # type: ignore[no-any-return]


@pytest.fixture
def world(session: Session) -> Dashboard:
    """A small registry in two grids with findings, cases, complaints and inspections; returns the district
    dashboard as it was before any of it."""
    before = dashboard.dashboard(session, today=TODAY, grid=None, jurisdiction=J)
    # Registry history for the trend: a subject institution registered in June 2025, suspended in March
    # 2026 and operating again from May; another registered in August 2026 and deleted in October.
    kept = institution(session, now=at(dt.date(2025, 6, 15)), grid=GRID)
    registry.save_documents(
        session,
        [registry.validate({**kept, "status": "suspended"})],
        actor="test",
        now=at(dt.date(2026, 3, 10)),
    )
    registry.save_documents(session, [registry.validate(kept)], actor="test", now=at(dt.date(2026, 5, 20)))
    gone = institution(session, now=at(dt.date(2026, 8, 5)), grid=GRID)
    registry.delete(session, gone["uscc"], actor="test", now=at(dt.date(2026, 10, 1)))

    # Today's registry of the grid: subject 3 (kept, one more operating, one suspended) + 1 closed;
    # non-subject 2 operating; unlicensed 1 operating.
    subject2 = institution(session, grid=GRID)
    suspended = institution(session, grid=GRID, status="suspended")
    closed = institution(session, grid=GRID, status="closed")
    art1 = institution(session, **non_subject(grid=GRID))
    art2 = institution(session, **non_subject(grid=GRID))
    unlicensed = institution(session, grid=GRID, licence=None)
    elsewhere = institution(session, grid=OTHER)
    elsewhere_art = institution(session, **non_subject(grid=OTHER))

    finding(session, kept["uscc"], "critical")
    finding(session, subject2["uscc"], "critical")
    finding(session, art1["uscc"], "minor")
    finding(session, unlicensed["uscc"], "major")
    finding(session, art2["uscc"], "major", open_=False)  # resolved: not counted
    finding(session, elsewhere["uscc"], "notice")

    past, later = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=30)
    case(session, kept["uscc"], GRID, "new", decide_by=past)  # overdue
    case(session, kept["uscc"], GRID, "investigating", decide_by=later)
    case(session, subject2["uscc"], GRID, "proposed", decide_by=past)  # overdue
    case(session, subject2["uscc"], GRID, "notified", decide_by=TODAY)  # due today: not yet overdue
    case(session, art1["uscc"], GRID, "decided", decide_by=past)  # decided: never overdue
    case(session, art1["uscc"], GRID, "rectifying", decide_by=past, deadline=TODAY + dt.timedelta(days=3))
    case(session, art2["uscc"], GRID, "rectifying", decide_by=past, deadline=TODAY)
    case(session, art2["uscc"], GRID, "rectifying", decide_by=past, deadline=TODAY + dt.timedelta(days=14))
    case(session, art2["uscc"], GRID, "rectifying", decide_by=past, deadline=TODAY + dt.timedelta(days=15))
    case(session, art2["uscc"], GRID, "rectifying", decide_by=past, deadline=TODAY - dt.timedelta(days=1))
    case(session, closed["uscc"], GRID, "closed", decide_by=past)
    case(session, elsewhere["uscc"], OTHER, "assigned", decide_by=past)  # overdue, other grid
    case(
        session,
        elsewhere["uscc"],
        OTHER,
        "rectifying",
        decide_by=later,
        deadline=TODAY + dt.timedelta(days=1),
    )

    complaint(session, GRID, "new", TODAY - dt.timedelta(days=1))  # late
    complaint(session, GRID, "new", TODAY)  # due today: not late
    complaint(session, GRID, "opened", TODAY - dt.timedelta(days=9))
    complaint(session, GRID, "rejected", TODAY - dt.timedelta(days=9))
    complaint(session, OTHER, "new", TODAY - dt.timedelta(days=2))  # late, other grid
    complaint(session, None, "new", TODAY - dt.timedelta(days=5))  # unmatched: district only, late

    inspection(session, kept["uscc"], GRID, TODAY - dt.timedelta(days=30))
    inspection(session, kept["uscc"], GRID, TODAY - dt.timedelta(days=60))  # same one twice
    inspection(session, art1["uscc"], GRID, dt.date(2025, 12, 1))  # 11 months and 29 days ago
    inspection(session, art2["uscc"], GRID, dt.date(2025, 11, 30))  # exactly 12 months ago: not counted
    inspection(session, unlicensed["uscc"], GRID, TODAY + dt.timedelta(days=1))  # future: not counted
    inspection(session, suspended["uscc"], GRID, TODAY - dt.timedelta(days=5))  # not operating
    inspection(session, None, GRID, TODAY - dt.timedelta(days=5))  # an unregistered operator
    inspection(session, elsewhere_art["uscc"], OTHER, TODAY - dt.timedelta(days=5))
    session.flush()
    return before


def trend(d: Dashboard) -> dict[str, int | None]:
    return {m.month: m.count for m in d.subject_trend}


def test_grid_figures(session: Session, world: Dashboard) -> None:
    d = dashboard.dashboard(session, today=TODAY, grid=GRID, jurisdiction=J)
    assert d.as_of == TODAY and d.grid == GRID
    assert d.institutions.model_dump() == {
        "total": 7,
        "by_category": {"subject": 4, "non_subject": 2, "unlicensed": 1},
        "by_status": {"operating": 5, "suspended": 1, "closed": 1},
    }
    assert d.open_findings == {"critical": 2, "major": 1, "minor": 1, "notice": 0}
    assert d.cases.by_state == {
        **dict.fromkeys(CASE_STATES, 0),
        "new": 1,
        "investigating": 1,
        "proposed": 1,
        "notified": 1,
        "decided": 1,
        "rectifying": 5,
        "closed": 1,
    }
    assert d.cases.open == 10
    assert d.cases.overdue == 2
    assert [(r.deadline - TODAY).days for r in d.rectifications_due] == [0, 3, 14]
    assert d.rectifications_due_total == 3
    assert d.rectifications_due_until == TODAY + dt.timedelta(days=14)
    assert all(r.grid == GRID and r.reference.startswith("AJT-") for r in d.rectifications_due)
    assert d.complaints.model_dump() == {"awaiting_triage": 2, "past_triage_due": 1}
    assert d.inspection_coverage.model_dump() == {
        "since": dt.date(2025, 11, 30),
        "operating": 5,
        "inspected": 2,
        "share": 0.4,
    }
    assert d.risk_tiers.model_dump() == {"red": 0, "yellow": 0}
    months = trend(d)
    assert [*months][::23] == ["2024-12", "2026-11"] and len(months) == 24
    assert d.subject_trend[-1].as_of == TODAY and d.subject_trend[0].as_of == dt.date(2024, 12, 31)
    assert d.subject_trend[14].as_of == dt.date(2026, 2, 28)
    expected: dict[str, int | None] = {}
    for month in months:
        if month < "2025-06":
            expected[month] = None  # before the registry's first record
        elif "2026-03" <= month <= "2026-04":
            expected[month] = 0  # suspended
        elif "2026-08" <= month <= "2026-09":
            expected[month] = 2  # the second one registered, not yet deleted
        elif month == "2026-11":
            expected[month] = 2  # kept, and the operating subject institution registered today
        else:
            expected[month] = 1
    assert months == expected


def test_other_grid_and_district(session: Session, world: Dashboard) -> None:
    other = dashboard.dashboard(session, today=TODAY, grid=OTHER, jurisdiction=J)
    assert other.institutions.total == 2
    assert other.institutions.by_category == {"subject": 1, "non_subject": 1, "unlicensed": 0}
    assert other.open_findings == {"critical": 0, "major": 0, "minor": 0, "notice": 1}
    assert other.cases.overdue == 1 and other.cases.open == 2
    assert [r.deadline for r in other.rectifications_due] == [TODAY + dt.timedelta(days=1)]
    assert other.complaints.model_dump() == {"awaiting_triage": 1, "past_triage_due": 1}
    assert (other.inspection_coverage.inspected, other.inspection_coverage.operating) == (1, 2)
    assert other.inspection_coverage.share == 0.5
    assert trend(other)["2026-11"] == 1 and trend(other)["2026-10"] == 0 and trend(other)["2025-05"] is None

    district = dashboard.dashboard(session, today=TODAY, grid=None, jurisdiction=J)
    delta = minus(district, world)
    assert delta["institutions"] == {
        "total": 9,
        "by_category": {"subject": 5, "non_subject": 3, "unlicensed": 1},
        "by_status": {"operating": 7, "suspended": 1, "closed": 1},
    }
    assert delta["open_findings"] == {"critical": 2, "major": 1, "minor": 1, "notice": 1}
    assert delta["cases"]["open"] == 12 and delta["cases"]["overdue"] == 3
    assert delta["cases"]["by_state"]["rectifying"] == 6 and delta["cases"]["by_state"]["assigned"] == 1
    assert delta["rectifications_due_total"] == 4
    assert delta["complaints"] == {"awaiting_triage": 4, "past_triage_due": 3}
    coverage = delta["inspection_coverage"]
    assert (coverage["operating"], coverage["inspected"]) == (7, 3)
    by_month = {m["month"]: m["count"] for m in delta["subject_trend"]}
    assert (by_month["2026-11"], by_month["2026-10"], by_month["2026-09"]) == (3, 1, 2)
    assert by_month["2026-03"] == 0 and by_month["2025-06"] == 1 and by_month["2025-05"] is None


def test_trend_follows_moves_and_several_changes_in_a_month(session: Session, world: Dashboard) -> None:
    """An institution registered in the other grid in January 2026 moves to this grid in June and is
    suspended and reopened within June: it counts where it was at each month's end."""
    mover = institution(session, now=at(dt.date(2026, 1, 10)), grid=OTHER)
    for day, changes in (
        (dt.date(2026, 6, 10), {"grid": GRID}),
        (dt.date(2026, 6, 12), {"grid": GRID, "status": "suspended"}),
        (dt.date(2026, 6, 20), {"grid": GRID}),
    ):
        registry.save_documents(session, [registry.validate({**mover, **changes})], actor="test", now=at(day))
    here = trend(dashboard.dashboard(session, today=TODAY, grid=GRID, jurisdiction=J))
    assert [here[m] for m in ("2025-05", "2025-06", "2026-03", "2026-05", "2026-06", "2026-08")] == [
        None,
        1,
        0,
        1,
        2,
        3,
    ]
    assert (here["2026-10"], here["2026-11"]) == (2, 3)
    there = trend(dashboard.dashboard(session, today=TODAY, grid=OTHER, jurisdiction=J))
    assert [there[m] for m in ("2025-12", "2026-01", "2026-05", "2026-06", "2026-10", "2026-11")] == [
        0,
        1,
        1,
        0,
        0,
        1,
    ]
    district = minus(dashboard.dashboard(session, today=TODAY, grid=None, jurisdiction=J), world)
    by_month = {m["month"]: m["count"] for m in district["subject_trend"]}
    assert [by_month[m] for m in ("2025-05", "2025-06", "2026-01", "2026-03", "2026-09", "2026-11")] == [
        None,
        1,
        2,
        1,
        3,
        4,
    ]


def test_risk_tiers_counted_per_grid(session: Session, world: Dashboard) -> None:
    session.execute(
        text(
            "INSERT INTO institution_risk (institution_id, tier, because, changed_at)"
            " SELECT id, CASE WHEN status = 'suspended' THEN 'red' ELSE 'yellow' END, '{}', now()"
            " FROM institution WHERE grid = :g AND status <> 'closed'"
        ),
        {"g": GRID},
    )
    d = dashboard.dashboard(session, today=TODAY, grid=GRID, jurisdiction=J)
    assert d.risk_tiers.model_dump() == {"red": 1, "yellow": 5}


def test_charts_of_the_dashboard(session: Session, world: Dashboard) -> None:
    d = dashboard.dashboard(session, today=TODAY, grid=GRID, jurisdiction=J)
    svgs = dashboard.dashboard_charts(d)
    assert set(svgs) == {
        "institutions_by_category",
        "institutions_by_status",
        "open_findings",
        "cases_by_state",
        "risk_tiers",
        "subject_trend",
    }
    for svg in svgs.values():
        ET.fromstring(svg)
    assert ">学科类<" in svgs["institutions_by_category"] and ">4<" in svgs["institutions_by_category"]
    assert "红色: 0" in svgs["risk_tiers"] and "黄色: 0" in svgs["risk_tiers"]
    assert "2024-12: 无记录" in svgs["subject_trend"] and "2026-11: 2" in svgs["subject_trend"]


def test_unknown_grid_is_refused(session: Session) -> None:
    with pytest.raises(Invalid) as e:
        dashboard.dashboard(session, today=TODAY, grid="不存在", jurisdiction=J)
    assert e.value.problems[0].loc == "grid"


def test_empty_grid(session: Session) -> None:
    d = dashboard.dashboard(session, today=TODAY, grid="凤凰", jurisdiction=J)
    assert d.institutions.total == 0
    assert d.inspection_coverage.share is None
    assert d.rectifications_due == [] and d.rectifications_due_total == 0
    assert d.cases.open == 0 and d.subject_trend[-1].count == 0
