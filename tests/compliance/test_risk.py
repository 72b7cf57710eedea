"""The risk tier in the service (rules.md "Risk tier"): stored by every evaluation, raised by recent
complaints, answered by the self-check, filtered and shown on the staff pages, and a tier turning red opening
one risk case."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from supervision.cases import casework
from supervision.cases import service as cases
from supervision.cases.schemas import ComplaintIn
from supervision.cli import app
from supervision.compliance import runs
from supervision.compliance import service as compliance
from tests.compliance.helpers import AS_OF
from tests.conftest import example_document, institution_id, save_institution

NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def _tier(session: Session, uscc: str) -> tuple[str, list[str]]:
    row = session.execute(
        text(
            "SELECT coalesce(r.tier, 'green'), coalesce(r.because, '{}') FROM institution i"
            " LEFT JOIN institution_risk r ON r.institution_id = i.id WHERE i.uscc = :u"
        ),
        {"u": uscc},
    ).one()
    return row[0], list(row[1])


def _cases(session: Session, uscc: str) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM enforcement_case WHERE uscc = :u"), {"u": uscc}
        ).scalar_one()
    )


def _unsupervised() -> dict[str, Any]:
    """Prepaid packages and no supervised account: FEE-NO-ESCROW, a red tier."""
    return example_document(escrow={"mode": None, "bank": None, "account_last4": None})


def test_a_reevaluation_stores_the_tier_and_red_opens_one_case(session: Session) -> None:
    doc = _unsupervised()
    save_institution(session, doc)
    iid = institution_id(session, doc["uscc"])
    assert _tier(session, doc["uscc"]) == ("green", [])  # nothing evaluated yet
    compliance.reevaluate_institution(session, iid, AS_OF, now=NOW)
    tier, because = _tier(session, doc["uscc"])
    assert tier == "red" and "FEE-NO-ESCROW" in because

    opened = casework.open_risk_cases(session, now=NOW, jurisdiction="440106")
    mine = session.execute(
        text("SELECT reference, state, basis FROM enforcement_case WHERE uscc = :u AND source = 'risk'"),
        {"u": doc["uscc"]},
    ).all()
    assert len(mine) == 1 and mine[0][0] in opened and "FEE-NO-ESCROW" in mine[0][2]
    assert doc["uscc"] not in str(casework.open_risk_cases(session, now=NOW, jurisdiction="440106"))

    # Closed by an officer while the tier stays red: not handed over again.
    session.execute(text("UPDATE enforcement_case SET state = 'closed' WHERE uscc = :u"), {"u": doc["uscc"]})
    later = NOW + dt.timedelta(days=1)
    compliance.reevaluate_institution(session, iid, AS_OF + dt.timedelta(days=1), now=later)
    casework.open_risk_cases(session, now=later, jurisdiction="440106")
    assert _cases(session, doc["uscc"]) == 1

    # Put right (green), then red again: a new case.
    fixed = {**doc, "escrow": {"mode": "bank_custody", "bank": "示例银行", "account_last4": "1234"}}
    save_institution(session, fixed, now=later)
    compliance.reevaluate_institution(session, iid, AS_OF + dt.timedelta(days=1), now=later)
    assert _tier(session, doc["uscc"])[0] != "red"
    again = later + dt.timedelta(days=1)
    save_institution(session, doc, now=again)
    compliance.reevaluate_institution(session, iid, AS_OF + dt.timedelta(days=2), now=again)
    casework.open_risk_cases(session, now=again, jurisdiction="440106")
    assert _cases(session, doc["uscc"]) == 2


def test_three_complaints_in_thirty_days_raise_the_tier_to_yellow(session: Session) -> None:
    doc = example_document()
    for course in doc["courses"]:
        course["prepaid_packages"] = []
    doc["escrow"] = None
    save_institution(session, doc)
    iid = institution_id(session, doc["uscc"])
    complaint = ComplaintIn(uscc=doc["uscc"], text="机构周末上数学课，收费一年。" * 2)
    # Two recent complaints, one from 30 days before the evaluation and one after it (both outside).
    for at in (NOW - dt.timedelta(days=30), NOW - dt.timedelta(days=29), NOW, NOW + dt.timedelta(days=3)):
        cases.file_complaint(session, complaint, now=at, jurisdiction="440106")
    compliance.reevaluate_institution(session, iid, AS_OF, now=NOW)
    assert _tier(session, doc["uscc"]) == ("green", [])
    cases.file_complaint(session, complaint, now=NOW, jurisdiction="440106")
    compliance.reevaluate_institution(session, iid, AS_OF, now=NOW)
    assert _tier(session, doc["uscc"]) == ("yellow", ["COMPLAINTS-30D"])


def test_a_full_run_stores_every_tier_and_counts_them(session: Session) -> None:
    red, green, complained = _unsupervised(), example_document(), example_document()
    for d in (green, complained):
        for course in d["courses"]:
            course["prepaid_packages"] = []
        d["escrow"] = None
    for d in (red, green, complained):
        save_institution(session, d)
    complaint = ComplaintIn(uscc=complained["uscc"], text="机构周末上数学课，收费一年。" * 2)
    for _ in range(3):
        cases.file_complaint(session, complaint, now=NOW, jurisdiction="440106")
    run = runs.run_full(session, AS_OF, "test", now=NOW, workers=0)
    assert _tier(session, red["uscc"])[0] == "red" and _tier(session, green["uscc"]) == ("green", [])
    assert _tier(session, complained["uscc"]) == ("yellow", ["COMPLAINTS-30D"])
    # The same run again changes nothing stored: the tier keeps the instant it changed.
    changed_at = session.execute(text("SELECT max(changed_at) FROM institution_risk")).scalar_one()
    runs.run_full(session, AS_OF, "test", now=NOW + dt.timedelta(days=1), workers=0)
    assert session.execute(text("SELECT max(changed_at) FROM institution_risk")).scalar_one() == changed_at
    tiers = run.counts["risk_tiers"]
    rows = session.execute(
        text(
            "SELECT coalesce(r.tier, 'green'), count(*) FROM institution i"
            " LEFT JOIN institution_risk r ON r.institution_id = i.id GROUP BY 1"
        )
    )
    stored = {str(tier): int(n) for tier, n in rows}
    assert {t: tiers[t] for t in tiers if tiers[t]} == stored


def test_the_self_check_answers_the_tier(http: httpx.Client) -> None:
    r = http.post("/api/v1/rules/evaluate", json={**_unsupervised(), "statements": []})
    assert r.status_code == 200, r.text
    assert r.json()["risk"]["tier"] == "red" and "FEE-NO-ESCROW" in r.json()["risk"]["because"]
    clean = example_document()
    for course in clean["courses"]:
        course["prepaid_packages"] = []
    clean["escrow"] = None
    assert http.post("/api/v1/rules/evaluate", json=clean).json()["risk"] == {"tier": "green", "because": []}


def test_staff_filter_and_see_the_tier(admin: httpx.Client, engine: Any) -> None:
    doc = _unsupervised()
    assert admin.post("/api/v1/institutions", json=doc).status_code == 201
    found = admin.get("/api/v1/institutions", params={"risk_tier": "red", "q": doc["uscc"]}).json()
    assert [i["uscc"] for i in found["items"]] == [doc["uscc"]]
    assert found["items"][0]["risk_because"]
    assert (
        admin.get("/api/v1/institutions", params={"risk_tier": "green", "q": doc["uscc"]}).json()["total"]
        == 0
    )
    assert admin.get("/api/v1/institutions", params={"risk_tier": "purple"}).status_code == 422
    page = admin.get("/staff/institutions", params={"risk_tier": "red", "q": doc["uscc"]})
    assert page.status_code == 200 and "badge-risk-red" in page.text and doc["name"] in page.text
    record = admin.get(f"/staff/institutions/{doc['uscc']}")
    assert "风险等级" in record.text and "FEE-NO-ESCROW" in record.text


def test_calendar_check_names_what_is_missing() -> None:
    runner = CliRunner()
    late = runner.invoke(app, ["calendar", "check", "--as-of", "2026-11-30"])
    assert late.exit_code == 1, late.output
    assert "2027年国务院节假日安排" in late.output and "2026-27学年" in late.output
    early = runner.invoke(app, ["calendar", "check", "--as-of", "2026-03-01", "--json"])
    assert early.exit_code == 0, early.output
    assert '"covered_until": "2026-08-31"' in early.output and '"warn": false' in early.output


def test_the_run_page_warns_when_the_calendar_runs_out(admin: httpx.Client) -> None:
    # Saving an institution re-evaluates it: an institution run as of the service's date (2026-11-30).
    assert admin.post("/api/v1/institutions", json=example_document()).status_code == 201
    run_id = admin.get("/api/v1/rule-runs").json()["items"][0]["id"]
    page = admin.get(f"/staff/rule-runs/{run_id}")
    assert (
        page.status_code == 200 and "日历数据即将用尽" in page.text and "2027年国务院节假日安排" in page.text
    )
    assert "日历数据即将用尽" in admin.get("/staff").text
