"""The catalogue, the findings' shape and wording, and the engine's public helpers."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

import pytest

from rules import Engine, Finding, all_rules
from rules.golden_cases import GOLDEN_DIR
from rules.parameters import SPECS
from rules.yamlio import load_file

ENGINE = Engine.load("440106")
CTX = ENGINE.at(dt.date(2026, 5, 15))
BASE: dict[str, Any] = load_file(GOLDEN_DIR / "_base.yaml")

# rules.md: every ID and its severity.
CONTRACT = {
    "REG-USCC-CHECKSUM": "notice",
    "REG-NATURE-MISMATCH": "notice",
    "LIC-NONE": "critical",
    "LIC-EXPIRED": "critical",
    "LIC-INACTIVE": "critical",
    "LIC-SCOPE": "major",
    "LIC-EXPIRING": "notice",
    "BAN-SUBJECT-NEW": "critical",
    "BAN-PRESCHOOL-NEW": "critical",
    "BAN-PRESCHOOL-ONLINE": "critical",
    "NPO-SUBJECT": "major",
    "BAN-PRESCHOOL-SUBJECT": "critical",
    "BAN-SCOPE-EXTENDED": "critical",
    "TIME-SUBJECT-RESTDAY": "major",
    "TIME-OFFLINE-LATE": "major",
    "TIME-ONLINE-LATE": "major",
    "TIME-ONLINE-LESSON": "major",
    "TIME-ONLINE-BREAK": "minor",
    "FEE-PREPAY-CAP": "major",
    "FEE-PRICE-CAP": "major",
    "FEE-NO-ESCROW": "critical",
    "FEE-ESCROW-SHORTFALL": "critical",
    "FEE-STATEMENT-MISSING": "major",
    "FEE-BALANCE-BREAK": "major",
    "RISK-COVERAGE-THIN": "minor",
    "RISK-RECEIPTS-SURGE": "major",
    "RISK-RELEASE-AHEAD": "major",
    "RISK-LARGE-RELEASE": "notice",
    "STAFF-NO-CERT": "major",
    "STAFF-SERVING-TEACHER": "major",
    "PREM-AREA": "major",
}
CONDUCT = {
    "CONDUCT-DISGUISED",
    "CONDUCT-ADVERTISING",
    "CONDUCT-SCHOOL-COOP",
    "CONDUCT-AHEAD-OF-CURRICULUM",
    "CONDUCT-REFUND",
    "CONDUCT-OTHER",
}


def base_doc() -> dict[str, Any]:
    doc = json.loads(json.dumps(BASE["doc"], default=str))
    assert isinstance(doc, dict)
    return doc


def test_catalogue_matches_the_contract() -> None:
    rules = {r.id: r for r in all_rules()}
    assert set(rules) == set(CONTRACT) | CONDUCT
    for rule_id, severity in CONTRACT.items():
        assert rules[rule_id].severity == severity, rule_id
        assert rules[rule_id].automatic and rules[rule_id].id in ENGINE.checks
    for rule_id in CONDUCT:
        assert not rules[rule_id].automatic and rule_id not in ENGINE.checks


def test_every_rule_is_described_for_the_public() -> None:
    for rule in all_rules():
        assert rule.version >= 1
        for text in (
            rule.title_zh,
            rule.title_en,
            rule.description_zh,
            rule.description_en,
            rule.legal_basis,
        ):
            assert text.strip(), rule.id
        assert re.search(r"[\u4e00-\u9fff]", rule.title_zh + rule.description_zh), rule.id
        for name in re.findall(r"\{([a-z_.]+)\}", rule.description_zh + rule.description_en):
            assert name in SPECS and name in rule.parameters, (rule.id, name)
        assert all(p in SPECS for p in rule.parameters)


def test_descriptions_show_values_in_force() -> None:
    zh, en = CTX.describe("FEE-PREPAY-CAP")
    assert "3个月" in zh and "60课时" in zh and "5000元" in zh and "{" not in zh
    assert "5000 yuan" in en
    zh, _ = ENGINE.at(dt.date(2022, 1, 1)).describe("FEE-PREPAY-CAP")
    assert "—" in zh  # the 5,000-yuan cap is not yet in force


def test_rules_in_force_is_json() -> None:
    rows = CTX.rules_in_force()
    assert [r["id"] for r in rows] == sorted(CONTRACT.keys() | CONDUCT)
    text = json.dumps(rows, ensure_ascii=False)
    price = next(r for r in rows if r["id"] == "FEE-PRICE-CAP")
    assert price["applies"] and {p["name"] for p in price["parameters"]} == {
        "price.base_fen",
        "price.standard_minutes",
        "price.max_float_up_pct",
    }
    assert "440100" in text
    npo = next(r for r in rows if r["id"] == "NPO-SUBJECT")
    assert npo["effective_from"] == "2022-01-01"
    national = Engine.load("national").at(dt.date(2026, 5, 15)).rules_in_force()
    assert not next(r for r in national if r["id"] == "FEE-PRICE-CAP")["applies"]


def test_base_document_is_clean() -> None:
    result = CTX.evaluate(base_doc(), [])
    assert [f.rule_id for f in result.findings] == ["FEE-STATEMENT-MISSING"]
    assert CTX.evaluate(base_doc()).findings == []


def test_finding_shape_and_wording() -> None:
    doc = base_doc()
    doc["courses"][0]["weekly_slots"] = [{"weekday": 3, "start": "18:30", "end": "21:00"}]
    [finding] = CTX.evaluate(doc).findings
    assert isinstance(finding, Finding)
    assert finding.message_zh == "课程C1（初一数学同步）的周三课时18:30–21:00结束时间晚于20:30"
    out = finding.to_dict()
    assert list(out) == [
        "rule_id",
        "rule_version",
        "severity",
        "subject",
        "message_zh",
        "message_en",
        "legal_basis",
        "trace",
    ]
    assert out["rule_id"] == "TIME-OFFLINE-LATE" and out["subject"] == "C1" and out["severity"] == "major"
    assert out["legal_basis"] == "国办发〔2018〕80号; 教监管〔2022〕4号"
    trace = out["trace"]
    assert list(trace) == ["facts", "parameters", "comparison"]
    assert trace["facts"]["courses[C1].weekly_slots[weekday=3,18:30-21:00].end"] == "21:00"
    assert trace["parameters"] == [
        {
            "name": "time.offline_latest_end",
            "value": "20:30",
            "effective_from": "2018-08-22",
            "level": "national",
            "citation": "国办发〔2018〕80号; 教监管〔2022〕4号",
        }
    ]
    assert trace["comparison"] == "21:00 > 20:30 is true"
    assert hash(finding) == hash(copy.deepcopy(finding))


def test_prepay_message_says_which_limits_were_broken() -> None:
    doc = base_doc()
    doc["courses"][0]["prepaid_packages"] = [{"code": "K1", "lessons": 61, "months": 3, "price_fen": 500001}]
    [finding] = CTX.evaluate(doc).findings
    assert finding.subject == "C1/K1"
    assert "课时数61节超过60节" in finding.message_zh and "金额5000.01元超过5000.00元" in finding.message_zh
    assert "个月" not in finding.message_zh
    assert finding.trace["comparison"] == "61 > 60; 500001 fen > 500000 fen"


def test_statements_none_means_not_evaluated() -> None:
    ctx = ENGINE.at(dt.date(2026, 5, 11))
    assert ctx.evaluate(base_doc()).findings == []
    assert [f.subject for f in ctx.evaluate(base_doc(), []).findings] == ["2026-04"]


def test_the_formats_example_document() -> None:
    """The example of the data formats: its credit code fails the check; its 2026-10-10 session is a
    make-up working Saturday in a school year the calendar does not cover yet."""
    doc = base_doc()
    doc["uscc"] = "52440106MJL1234560"
    doc["licence"]["scope"] = {
        "categories": ["subject"],
        "stages": ["primary", "junior"],
        "modes": ["offline"],
    }
    doc["teachers"] = doc["teachers"][:1]
    course = doc["courses"][0]
    course["term"] = {"start": "2026-09-01", "end": "2027-01-15"}
    course["sessions"] = [{"date": "2026-10-10", "start": "18:30", "end": "19:15"}]
    result = ENGINE.at(dt.date(2026, 11, 30)).evaluate(doc)
    assert [(f.rule_id, f.subject) for f in result.findings] == [("REG-USCC-CHECKSUM", "institution")]
    # the term's days are not counted one by one: only the dated session is an uncovered date
    assert result.uncovered_dates == frozenset({dt.date(2026, 10, 10)})
    assert result.to_dict()["uncovered_dates"] == ["2026-10-10"]


def statement(**changes: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(BASE["statement"], default=str))
    out.update(changes)
    assert isinstance(out, dict)
    return out


def test_reserve_requirement_bank_custody() -> None:
    need = CTX.reserve_requirement(statement(unearned_liability_fen=1000001))
    assert need["required_fen"] == 1000001 and need["supervised_fen"] == 1000000
    assert need["shortfall_fen"] == 1 and need["supervised_field"] == "bank_reported_balance_fen"
    assert need["formula"] == "ceil(1000001 × 100 / 100) = 1000001"
    assert [p["name"] for p in need["parameters"]] == ["escrow.coverage_pct"]
    json.dumps(need)


def test_reserve_requirement_risk_reserve_with_minimum() -> None:
    overlay = {
        "level": "440106",
        "parameters": {
            "escrow.coverage_pct": [{"value": 30, "effective_from": "2026-01-01", "citation": "c"}],
            "escrow.reserve_min_fen": [{"value": 200000, "effective_from": "2026-01-01", "citation": "m"}],
        },
    }
    ctx = Engine.load("440106", overlays=[overlay]).at(dt.date(2026, 5, 15))
    s = statement(mode="risk_reserve", reserve_balance_fen=250000, unearned_liability_fen=1000001)
    need = ctx.reserve_requirement(s)
    assert need["required_fen"] == 300001  # ⌈1000001 × 30 / 100⌉, above the 200000 minimum
    assert need["shortfall_fen"] == 50001 and need["supervised_field"] == "reserve_balance_fen"
    assert [p["level"] for p in need["parameters"]] == ["440106", "440106"]
    small = ctx.reserve_requirement(
        statement(mode="risk_reserve", reserve_balance_fen=0, unearned_liability_fen=1)
    )
    assert small["required_fen"] == 200000 and small["formula"] == "max(ceil(1 × 30 / 100), 200000) = 200000"


def test_statement_order_does_not_matter() -> None:
    ctx = ENGINE.at(dt.date(2026, 5, 15))
    march = statement(period="2026-03", unearned_liability_fen=3000000)  # short, but not the latest
    april = statement(
        period="2026-04", opening_balance_fen=999999, receipts_fen=1, unearned_liability_fen=2000000
    )
    a = [f.to_dict() for f in ctx.evaluate(base_doc(), [march, april]).findings]
    b = [f.to_dict() for f in ctx.evaluate(base_doc(), [april, march]).findings]
    assert a == b and {f["rule_id"] for f in a} == {"FEE-BALANCE-BREAK", "FEE-ESCROW-SHORTFALL"}


@pytest.mark.parametrize("as_of", [dt.date(2026, 5, 15), dt.date(2027, 2, 1)])
def test_contexts_are_independent(as_of: dt.date) -> None:
    doc = base_doc()
    doc["courses"][0]["sessions"] = [{"date": "2027-01-11", "start": "18:30", "end": "19:15"}]
    one, two = ENGINE.at(as_of), ENGINE.at(as_of)
    assert one.evaluate(doc).to_dict() == two.evaluate(doc).to_dict()
    assert one.evaluate(doc).uncovered_dates == frozenset({dt.date(2027, 1, 11)})
