"""The risk tier (rules.md, "Risk tier"), the parameters of another date, and the traces they leave."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from rules import Engine, Risk, risk_tier
from rules.golden_cases import GOLDEN_DIR
from rules.risk import COMPLAINTS, RED_RULES, YELLOW_RULES
from rules.yamlio import load_file

ENGINE = Engine.load("440106")
CTX = ENGINE.at(dt.date(2026, 5, 15))
BASE: dict[str, Any] = load_file(GOLDEN_DIR / "_base.yaml")


@pytest.mark.parametrize("rule_id", sorted(RED_RULES))
def test_each_red_rule_sets_red(rule_id: str) -> None:
    assert risk_tier([(rule_id, "institution")]) == Risk("red", (rule_id,))


@pytest.mark.parametrize("rule_id", sorted(YELLOW_RULES))
def test_each_yellow_rule_sets_yellow(rule_id: str) -> None:
    assert risk_tier([(rule_id, "2026-04")]) == Risk("yellow", (rule_id,))


def test_statement_missing_for_two_periods_is_red() -> None:
    one = [("FEE-STATEMENT-MISSING", "2026-04")]
    two = [*one, ("FEE-STATEMENT-MISSING", "2026-03")]
    assert risk_tier(one).tier == "yellow"
    assert risk_tier(two) == Risk("red", ("FEE-STATEMENT-MISSING",))
    assert risk_tier([*one, *one]).tier == "yellow", "the same period twice is one period"


def test_red_names_only_what_set_it() -> None:
    risk = risk_tier(
        [("RISK-RELEASE-AHEAD", "2026-04"), ("FEE-NO-ESCROW", "institution"), ("LIC-EXPIRING", "institution")]
    )
    assert risk == Risk("red", ("FEE-NO-ESCROW", "RISK-RELEASE-AHEAD"))
    assert risk.to_dict() == {"tier": "red", "because": ["FEE-NO-ESCROW", "RISK-RELEASE-AHEAD"]}


def test_complaints_raise_to_yellow_only_through_the_count() -> None:
    assert risk_tier([], complaints_30d=5).tier == "green"  # no threshold: the self-check
    assert risk_tier([], complaints_30d=2, complaint_threshold=3).tier == "green"
    assert risk_tier([], complaints_30d=3, complaint_threshold=3) == Risk("yellow", (COMPLAINTS,))
    assert risk_tier([("LIC-EXPIRING", "institution")], complaints_30d=3, complaint_threshold=3) == Risk(
        "yellow", (COMPLAINTS, "LIC-EXPIRING")
    )
    red = risk_tier([("FEE-NO-ESCROW", "institution")], complaints_30d=9, complaint_threshold=3)
    assert red == Risk("red", ("FEE-NO-ESCROW",))


def test_other_findings_are_green() -> None:
    assert risk_tier([("TIME-OFFLINE-LATE", "C1"), ("LIC-NONE", "institution")]) == Risk("green", ())
    assert risk_tier([]).to_dict() == {"tier": "green", "because": []}


def test_context_risk_uses_the_threshold_in_force() -> None:
    assert CTX.risk([], complaints_30d=3) == Risk("yellow", (COMPLAINTS,))
    assert CTX.risk([], complaints_30d=2).tier == "green"
    before = ENGINE.at(dt.date(2021, 10, 28))  # before risk.complaints_30d took effect
    assert before.risk([], complaints_30d=10).tier == "green"


def base_doc() -> dict[str, Any]:
    doc = json.loads(json.dumps(BASE["doc"], default=str))
    assert isinstance(doc, dict)
    return doc


def test_evaluation_carries_the_risk() -> None:
    doc = base_doc()
    doc["escrow"] = None
    result = CTX.evaluate(doc)
    assert result.risk == Risk("red", ("FEE-NO-ESCROW",))
    assert result.to_dict()["risk"] == {"tier": "red", "because": ["FEE-NO-ESCROW"]}
    assert CTX.evaluate(base_doc()).to_dict()["risk"] == {"tier": "green", "because": []}


def _receipt_statement(day: str) -> dict[str, Any]:
    out = json.loads(json.dumps(BASE["statement"], default=str))
    out.update(
        period=day[:7],
        receipts_fen=500001,
        closing_balance_fen=1500001,
        bank_reported_balance_fen=1500001,
        unearned_liability_fen=1500001,
        lines=[{"date": day, "type": "receipt", "amount_fen": 500001, "ref": "R-0001", "lessons": 20}],
    )
    assert isinstance(out, dict)
    return out


def test_a_receipt_is_traced_with_the_limits_of_its_own_date() -> None:
    result = CTX.evaluate(base_doc(), [_receipt_statement("2022-12-28")])
    [finding] = [f for f in result.findings if f.rule_id == "FEE-PREPAY-CAP"]
    assert finding.rule_version == 2 and finding.subject == "2022-12/R-0001"
    cap = next(p for p in finding.trace["parameters"] if p["name"] == "prepay.max_fen")
    assert cap["effective_from"] == "2022-12-28" and cap["value"] == 500000
    assert "limits in force on 2022-12-28" in finding.trace["comparison"]


def test_other_dates_are_resolved_once_per_segment() -> None:
    ctx = ENGINE.at(dt.date(2026, 5, 15))
    values, traces = ctx.values_on(dt.date(2026, 5, 1))
    assert values is ctx.values  # the same segment as the evaluation date: nothing resolved
    early, _ = ctx.values_on(dt.date(2022, 6, 1))
    assert "prepay.max_fen" not in early and early["prepay.max_lessons"] == 60
    assert ctx.values_on(dt.date(2022, 7, 1))[0] is early  # same segment, cached
    assert len(ctx._on) == 1
    json.dumps(traces)
