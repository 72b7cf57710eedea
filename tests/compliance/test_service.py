"""Runs and the finding lifecycle, over the real database (each test rolled back)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlmodel import Session

from supervision.compliance import dryrun, queries, runs
from supervision.compliance import service as compliance
from supervision.core.clock import FixedClock
from supervision.core.errors import Invalid
from supervision.escrow import keys
from supervision.escrow import service as escrow
from supervision.escrow.validation import parse_json
from tests.compliance.helpers import AS_OF, by_rule, count, expired, findings_of
from tests.conftest import example_document, institution_id, save_institution


def test_open_unchanged_refreshed_resolved_reopened(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    doc = expired()
    save_institution(session, doc, now=now)
    iid = institution_id(session, doc["uscc"])

    first = runs.run_full(session, AS_OF, "test", now=now, workers=0)
    [lic] = by_rule(findings_of(session, iid), "LIC-EXPIRED")
    assert lic["status"] == "open" and lic["severity"] == "critical"
    assert lic["first_seen_on"] == AS_OF and lic["first_run_id"] == lic["updated_run_id"] == first.id
    assert first.counts["by_rule"]["LIC-EXPIRED"]["opened"] >= 1

    # The same day again: the finding is untouched (same row, same content, not even rewritten).
    again = runs.run_full(session, AS_OF, "test", now=now, workers=0)
    [same] = by_rule(findings_of(session, iid), "LIC-EXPIRED")
    assert (same["id"], same["updated_run_id"], same["digest"]) == (lic["id"], first.id, lic["digest"])
    assert again.counts["totals"]["opened"] == 0 and again.counts["totals"]["resolved"] == 0
    assert again.counts["totals"]["unchanged"] == again.counts["totals"]["produced"]

    # A day later it is still open and keeps its first-seen date; its trace names the new date.
    day2 = AS_OF + dt.timedelta(days=1)
    later = runs.run_full(session, day2, "test", now=now, workers=0)
    [kept] = by_rule(findings_of(session, iid), "LIC-EXPIRED")
    assert kept["id"] == lic["id"] and kept["first_seen_on"] == AS_OF and kept["status"] == "open"
    assert kept["updated_run_id"] == later.id and kept["trace"]["facts"]["as_of"] == day2.isoformat()

    # Fixed (licence renewed): the next run resolves it.
    doc["licence"]["valid_until"] = "2028-12-31"
    save_institution(session, doc, now=now)
    fixed = runs.run_full(session, day2, "test", now=now, workers=0)
    [gone] = by_rule(findings_of(session, iid), "LIC-EXPIRED")
    assert (
        gone["status"] == "resolved" and gone["resolved_on"] == day2 and gone["resolved_run_id"] == fixed.id
    )
    assert fixed.counts["by_rule"]["LIC-EXPIRED"]["resolved"] >= 1

    # Broken again: a new finding, seen first on its own date; the resolved one stays as history.
    doc["licence"]["valid_until"] = "2026-12-01"
    save_institution(session, doc, now=now)
    day3 = dt.date(2026, 12, 5)
    back = runs.run_full(session, day3, "test", now=now, workers=0)
    old, new = by_rule(findings_of(session, iid), "LIC-EXPIRED")
    assert old["id"] == lic["id"] and old["status"] == "resolved"
    assert new["status"] == "open" and new["first_seen_on"] == day3 and new["first_run_id"] == back.id
    detail = compliance.get_finding(session, new["id"])
    assert [h["id"] for h in detail["history"]] == [old["id"]]


def test_run_record_and_audit(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    doc = example_document()
    # A Monday of a year whose calendar data is not loaded (a weekend day would fire: a rest day unless a
    # notice makes it a make-up working day).
    doc["courses"][0]["sessions"].append({"date": "2035-03-05", "start": "18:30", "end": "19:15"})
    save_institution(session, doc, now=now)
    iid = institution_id(session, doc["uscc"])
    run = runs.run_full(session, AS_OF, "test:auditor", now=now, workers=0)
    assert run.scope == "full" and run.as_of == AS_OF and run.actor == "test:auditor"
    assert run.institutions == count(session, "institution")
    assert len(run.parameter_hash) == 64 and run.engine_version.startswith("rules-")
    assert run.duration_ms is not None and run.finished_at is not None and run.finished_at >= run.started_at
    assert "2035-03-05" in run.uncovered_dates
    produced = run.counts["by_rule"]["FEE-STATEMENT-MISSING"]["produced"]
    stored_open = session.execute(
        text("SELECT count(*) FROM finding WHERE rule_id = 'FEE-STATEMENT-MISSING' AND status = 'open'")
    ).scalar_one()
    assert produced == stored_open >= 1
    assert [r["rule_id"] for r in findings_of(session, iid)] == ["FEE-STATEMENT-MISSING"]
    audits = session.execute(
        text("SELECT actor, action, after FROM audit_log WHERE entity = 'rule_run' AND entity_key = :k"),
        {"k": str(run.id)},
    ).all()
    assert len(audits) == 1 and audits[0].actor == "test:auditor" and audits[0].action == "run"
    assert audits[0].after["totals"] == run.counts["totals"]


def test_reevaluate_one_institution(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    doc = expired()
    save_institution(session, doc, now=now)
    iid = institution_id(session, doc["uscc"])
    other = institution_id(session, save_institution(session, expired(), now=now)["uscc"])
    open_now = compliance.reevaluate_institution(session, iid, AS_OF, "test", now=now)
    assert {f["rule_id"] for f in open_now} == {"LIC-EXPIRED", "FEE-STATEMENT-MISSING"}
    assert all(f["uscc"] == doc["uscc"] and f["status"] == "open" for f in open_now)
    assert findings_of(session, other) == []  # the other institution is not touched
    run = compliance.search_runs(session, scope="institution", limit=1)[1][0]
    assert run["uscc"] == doc["uscc"] and run["institutions"] == 1
    assert run["counts"]["by_rule"]["LIC-EXPIRED"] == {
        "produced": 1,
        "opened": 1,
        "refreshed": 0,
        "resolved": 0,
    }

    doc["licence"]["valid_until"] = "2028-12-31"
    save_institution(session, doc, now=now)
    open_now = compliance.reevaluate_institution(session, iid, AS_OF, "test", now=now)
    assert {f["rule_id"] for f in open_now} == {"FEE-STATEMENT-MISSING"}
    [lic] = by_rule(findings_of(session, iid), "LIC-EXPIRED")
    assert lic["status"] == "resolved" and lic["resolved_on"] == AS_OF


def test_statements_in_force_count(session: Session, clock: FixedClock) -> None:
    """With the October statement accepted, FEE-STATEMENT-MISSING is no longer reported; the facts are the
    statements in force (an amendment replaces the statement it amends). The statements go in through the
    escrow service, which re-evaluates the institution itself on acceptance."""
    now = clock.now()
    doc = example_document()
    save_institution(session, doc, now=now)
    iid = institution_id(session, doc["uscc"])
    assert {f["rule_id"] for f in compliance.reevaluate_institution(session, iid, AS_OF, now=now)} == {
        "FEE-STATEMENT-MISSING"
    }
    key, _ = keys.issue(session, uscc=doc["uscc"], now=now, actor="test")
    holder = keys.holder_for_key(session, key, now)

    def submit(statement: dict[str, Any]) -> int:
        parsed = parse_json(orjson.dumps(statement), AS_OF)
        answer = escrow.submit(
            session,
            holder=holder,
            parsed=parsed,
            idempotency_key=uuid.uuid4().hex,
            now=now,
            as_of=AS_OF,
            jurisdiction="440106",
        )
        assert answer.status in (200, 201), answer.body
        return int(answer.body["id"])

    original = submit(_statement("2026-10", liability=900_000))  # covered with a margin: not even thin
    assert compliance.reevaluate_institution(session, iid, AS_OF, now=now) == []
    # An amendment that leaves the bank short of the liability: the amendment is what counts now.
    amendment = submit(_statement("2026-10", liability=1_200_000, amends=original))
    statements = queries.statements_for(session, [iid])[iid]
    assert [(s["id"], s["period"], s["amends"], s["unearned_liability_fen"]) for s in statements] == [
        (amendment, "2026-10", original, 1_200_000)
    ]
    # The latest statement is read whole (RISK-LARGE-RELEASE weighs its releases and refunds).
    assert statements[0]["lines"] == _statement("2026-10", liability=0)["lines"]
    open_now = compliance.reevaluate_institution(session, iid, AS_OF, now=now)
    assert [(f["rule_id"], f["subject"]) for f in open_now] == [("FEE-ESCROW-SHORTFALL", "2026-10")]


def _statement(period: str, *, liability: int, amends: int | None = None) -> dict[str, Any]:
    return {
        "period": period,
        "mode": "bank_custody",
        "opening_balance_fen": 1_000_000,
        "receipts_fen": 140_000,
        "released_fen": 140_000,
        "refunds_fen": 0,
        "closing_balance_fen": 1_000_000,
        "bank_reported_balance_fen": 1_000_000,
        "reserve_balance_fen": None,
        "unearned_liability_fen": liability,
        "amends": amends,
        "lines": [
            {
                "date": f"{period}-03",
                "type": "receipt",
                "amount_fen": 140_000,
                "ref": "R-1",
                "package_code": "K1",
                "lessons": 20,
                "months": 2,
            },
            # Two releases of 7% of the opening balance each: no large release (RISK-LARGE-RELEASE).
            {"date": f"{period}-14", "type": "release", "amount_fen": 70_000, "ref": "X-1"},
            {"date": f"{period}-28", "type": "release", "amount_fen": 70_000, "ref": "X-2"},
        ],
    }


def test_dry_run_reports_who_would_newly_pass_and_stores_nothing(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    doc = example_document()
    doc["courses"][0]["weekly_slots"] = [{"weekday": 3, "start": "19:45", "end": "20:45"}]
    save_institution(session, doc, now=now)
    runs.run_full(session, AS_OF, "test", now=now, workers=0)
    before = {t: count(session, t) for t in ("finding", "rule_run", "audit_log")}
    later = {
        "level": "440106",
        "parameters": {
            "time.offline_latest_end": [
                {"value": "21:00", "effective_from": "2026-01-01", "citation": "天河区候选规则（试算）"}
            ]
        },
    }
    report = dryrun.dry_run(session, [later], AS_OF, workers=0, examples=100_000)
    late = next(r for r in report.rules if r["rule_id"] == "TIME-OFFLINE-LATE")
    assert late["newly_pass"] >= 1 and late["newly_fail"] == 0
    assert late["candidate"] == late["current"] - late["newly_pass"]
    assert late["stored_open"] == late["current"]  # the run just now left exactly these open
    [mine] = [e for e in late["pass_examples"] if e["uscc"] == doc["uscc"]]
    assert mine["subjects"] == ["C1"] and "20:45" in mine["message_zh"]
    [change] = report.parameter_changes
    assert change["name"] == "time.offline_latest_end"
    assert (change["current"]["value"], change["candidate"]["value"]) == ("20:30", "21:00")
    assert change["candidate"]["level"] == "440106"
    assert report.current_parameter_hash != report.candidate_parameter_hash
    assert {t: count(session, t) for t in before} == before

    bad = {"level": "440106", "parameters": {"time.offline_latest_end": [{"value": "25:00"}]}}
    with pytest.raises(Invalid) as caught:
        dryrun.dry_run(session, [bad], AS_OF, workers=0)
    assert caught.value.problems and all(p.loc == "parameters" for p in caught.value.problems)
