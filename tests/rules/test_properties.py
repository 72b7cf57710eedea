"""Properties of the engine over generated valid documents (hypothesis).

Evaluation never raises, its output does not depend on the order of courses, slots, sessions, packages,
teachers, premises, statements or statement lines, and evaluating twice gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import Engine, risk_tier
from rules.risk import RED_RULES, YELLOW_RULES
from rules.uscc import ALPHABET, check_character

ENGINE = Engine.load("440106")
CONTEXTS: dict[dt.date, Any] = {}

STAGES = ["preschool", "primary", "junior", "senior"]
SUBJECTS = [
    "moral_law",
    "chinese",
    "history",
    "geography",
    "math",
    "foreign_language",
    "physics",
    "chemistry",
    "biology",
]
NON_SUBJECTS = ["sports", "arts", "science_tech", "comprehensive_practice", "other"]
DAYS = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2029, 12, 31))


def ctx_for(as_of: dt.date) -> Any:
    if as_of not in CONTEXTS:
        CONTEXTS[as_of] = ENGINE.at(as_of)
    return CONTEXTS[as_of]


@st.composite
def uscc(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["52", "91", "12", "Y1"]))
    region = draw(st.sampled_from(["440106", "440100", "110000"]))
    body = draw(st.text(alphabet=ALPHABET, min_size=9, max_size=9))
    first17 = head + region + body
    if draw(st.integers(0, 9)) == 0:  # now and then an early pilot code that fails the check
        return first17 + ALPHABET[(ALPHABET.index(check_character(first17)) + 1) % len(ALPHABET)]
    return first17 + check_character(first17)


@st.composite
def span(draw: st.DrawFn) -> tuple[str, str]:
    start = draw(st.integers(0, 23 * 60))
    end = draw(st.integers(start + 1, 24 * 60 - 1))
    return f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"


@st.composite
def slot(draw: st.DrawFn) -> dict[str, Any]:
    start, end = draw(span())
    return {"weekday": draw(st.integers(1, 7)), "start": start, "end": end}


@st.composite
def session(draw: st.DrawFn) -> dict[str, Any]:
    start, end = draw(span())
    return {"date": draw(DAYS).isoformat(), "start": start, "end": end}


def subset(items: list[str], min_size: int = 1) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=len(items), unique=True)


@st.composite
def course(draw: st.DrawFn, code: str, teacher_codes: list[str]) -> dict[str, Any]:
    category = draw(st.sampled_from(["subject", "non_subject"]))
    term = None
    if draw(st.booleans()):
        a, b = sorted([draw(DAYS), draw(DAYS)])
        term = {"start": a.isoformat(), "end": b.isoformat()}
    return {
        "code": code,
        "title": draw(st.sampled_from(["初一数学同步", "少儿美术", "高中物理", "Piano"])),
        "category": category,
        "subject": draw(st.sampled_from(SUBJECTS if category == "subject" else NON_SUBJECTS)),
        "stages": draw(subset(STAGES)),
        "mode": draw(st.sampled_from(["online", "offline"])),
        "class_size_max": draw(st.integers(1, 80)),
        "lesson_minutes": draw(st.integers(10, 120)),
        "price_per_lesson_fen": draw(st.integers(0, 30000)),
        "teacher_codes": draw(st.lists(st.sampled_from(teacher_codes), unique=True)) if teacher_codes else [],
        "term": term,
        "weekly_slots": draw(st.lists(slot(), max_size=4)),
        "sessions": draw(st.lists(session(), max_size=4)),
        "prepaid_packages": [
            {
                "code": f"K{i}",
                "lessons": draw(st.integers(1, 100)),
                "months": draw(st.integers(1, 12)),
                "price_fen": draw(st.integers(1, 1_000_000)),
            }
            for i in range(1, draw(st.integers(0, 3)) + 1)
        ],
    }


@st.composite
def document(draw: st.DrawFn) -> dict[str, Any]:
    teacher_codes = [f"T{i}" for i in range(1, draw(st.integers(0, 4)) + 1)]
    licence = None
    if draw(st.integers(0, 5)) > 0:
        first, issued, until = sorted(draw(DAYS) for _ in range(3))
        licence = {
            "number": "教民144010670000123号",
            "first_approved_on": first.isoformat(),
            "issued_on": issued.isoformat(),
            "valid_until": until.isoformat(),
            "status": draw(st.sampled_from(["valid", "valid", "suspended", "revoked"])),
            "scope": {
                "categories": draw(subset(["subject", "non_subject"])),
                "stages": draw(subset(STAGES)),
                "modes": draw(subset(["online", "offline"])),
            },
        }
    escrow = draw(
        st.sampled_from(
            [
                None,
                {"mode": "bank_custody", "bank": "示例银行", "account_last4": "1234"},
                {"mode": "risk_reserve", "bank": "示例银行", "account_last4": "5678"},
                {"mode": None, "bank": None, "account_last4": None},
            ]
        )
    )
    areas = st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
    return {
        "uscc": draw(uscc()),
        "name": "广州市天河区示例培训中心",
        "nature": draw(st.sampled_from(["non_profit", "for_profit"])),
        "status": draw(st.sampled_from(["operating", "suspended", "closed"])),
        "district": "天河区",
        "grid": draw(st.sampled_from(["石牌", "五山", "龙洞"])),
        "address": "广州市天河区示例路1号",
        "licence": licence,
        "escrow": escrow,
        "premises": [
            {
                "code": f"P{i}",
                "address": "示例路",
                "area_m2": str(draw(areas)),
                "max_concurrent_students": draw(st.integers(0, 500)),
            }
            for i in range(1, draw(st.integers(0, 3)) + 1)
        ],
        "teachers": [
            {
                "code": code,
                "name": "老师",
                "has_teacher_certificate": draw(st.booleans()),
                "serving_school_teacher": draw(st.booleans()),
            }
            for code in teacher_codes
        ],
        "courses": [draw(course(f"C{i}", teacher_codes)) for i in range(1, draw(st.integers(0, 4)) + 1)],
    }


@st.composite
def statements(draw: st.DrawFn) -> list[dict[str, Any]]:
    months = draw(st.lists(st.integers(0, 59), max_size=4, unique=True))
    out = []
    for m in months:
        period = f"{2022 + m // 12:04d}-{m % 12 + 1:02d}"
        lines = []
        for i, kind in enumerate(
            draw(st.lists(st.sampled_from(["receipt", "release", "refund"]), max_size=5))
        ):
            line: dict[str, Any] = {
                "date": f"{period}-{draw(st.integers(1, 28)):02d}",
                "type": kind,
                "amount_fen": draw(st.integers(1, 800_000)),
                "ref": f"{kind[0].upper()}-{i:04d}",
            }
            if kind == "receipt" and draw(st.booleans()):
                line.update(
                    package_code="K1", lessons=draw(st.integers(1, 100)), months=draw(st.integers(1, 6))
                )
            lines.append(line)
        totals = {
            k: sum(x["amount_fen"] for x in lines if x["type"] == k) for k in ("receipt", "release", "refund")
        }
        opening = draw(st.integers(totals["release"] + totals["refund"], 5_000_000))
        closing = opening + totals["receipt"] - totals["release"] - totals["refund"]
        mode = draw(st.sampled_from(["bank_custody", "risk_reserve"]))
        out.append(
            {
                "id": f"S{m}",
                "period": period,
                "mode": mode,
                "opening_balance_fen": opening,
                "receipts_fen": totals["receipt"],
                "released_fen": totals["release"],
                "refunds_fen": totals["refund"],
                "closing_balance_fen": closing,
                "bank_reported_balance_fen": draw(st.sampled_from([closing, closing + 1, 0])),
                "reserve_balance_fen": draw(st.integers(0, 5_000_000)),
                "unearned_liability_fen": draw(st.integers(0, 5_000_000)),
                "amends": None,
                "lines": lines,
            }
        )
    return out


def shuffled(doc: dict[str, Any], sts: list[dict[str, Any]], rnd: random.Random) -> tuple[Any, Any]:
    doc = json.loads(json.dumps(doc))
    sts = json.loads(json.dumps(sts))
    for key in ("courses", "teachers", "premises"):
        rnd.shuffle(doc[key])
    for c in doc["courses"]:
        for key in ("weekly_slots", "sessions", "prepaid_packages", "teacher_codes"):
            rnd.shuffle(c[key])
        rnd.shuffle(c["stages"])
    if doc["licence"]:
        for key in ("categories", "stages", "modes"):
            rnd.shuffle(doc["licence"]["scope"][key])
    rnd.shuffle(sts)
    for s in sts:
        rnd.shuffle(s["lines"])
    return doc, sts


def as_bytes(result: Any) -> bytes:
    return json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(doc=document(), sts=st.one_of(st.none(), statements()), as_of=DAYS)
def test_evaluation_never_raises_and_is_well_formed(doc: dict[str, Any], sts: Any, as_of: dt.date) -> None:
    result = ctx_for(as_of).evaluate(doc, sts)
    keys = [(f.rule_id, f.subject) for f in result.findings]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys)), "one finding per rule and subject"
    json.dumps(result.to_dict())
    for finding in result.findings:
        assert finding.message_zh and finding.message_en and finding.trace["comparison"]
    assert all(isinstance(d, dt.date) for d in result.uncovered_dates)


@PROPERTY
@given(doc=document(), sts=statements(), as_of=DAYS, seed=st.integers(0, 2**32 - 1))
def test_findings_do_not_depend_on_order(doc: dict[str, Any], sts: Any, as_of: dt.date, seed: int) -> None:
    ctx = ctx_for(as_of)
    first = as_bytes(ctx.evaluate(doc, sts))
    again = as_bytes(ctx.evaluate(*shuffled(doc, sts, random.Random(seed))))
    assert first == again


@settings(max_examples=100, deadline=None)
@given(doc=document(), sts=statements(), as_of=DAYS)
def test_evaluation_is_deterministic(doc: dict[str, Any], sts: Any, as_of: dt.date) -> None:
    once = as_bytes(ctx_for(as_of).evaluate(doc, sts))
    twice = as_bytes(ctx_for(as_of).evaluate(doc, sts))
    fresh = as_bytes(Engine.load("440106").at(as_of).evaluate(doc, sts)) if as_of.day == 1 else once
    assert once == twice == fresh


@settings(max_examples=100, deadline=None)
@given(doc=document(), as_of=DAYS)
def test_evaluation_does_not_change_the_document(doc: dict[str, Any], as_of: dt.date) -> None:
    before = json.dumps(doc, sort_keys=True)
    ctx_for(as_of).evaluate(doc, [])
    assert json.dumps(doc, sort_keys=True) == before


# --- BAN-SCOPE-EXTENDED: narrowing a scope never widens it --------------------------------------------------


@st.composite
def narrowing(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str]:
    """A scope history whose last entry (dated on or after the ban) is a subset of the one before it."""
    categories = draw(subset(["subject", "non_subject"]))
    stages = draw(subset(STAGES))
    modes = draw(subset(["online", "offline"]))
    first = {"from": "2019-05-01", "categories": categories, "stages": stages, "modes": modes}
    day = draw(st.dates(min_value=dt.date(2021, 7, 24), max_value=dt.date(2026, 5, 15))).isoformat()
    last = {
        "from": day,
        "categories": draw(st.lists(st.sampled_from(categories), unique=True)),
        "stages": draw(st.lists(st.sampled_from(stages), unique=True)),
        "modes": draw(st.lists(st.sampled_from(modes), unique=True)),
    }
    return [first, last], day


@settings(max_examples=200, deadline=None)
@given(doc=document(), history=narrowing(), all_categories=st.booleans())
def test_a_narrowing_scope_entry_never_fires_scope_extended(
    doc: dict[str, Any], history: tuple[list[dict[str, Any]], str], all_categories: bool
) -> None:
    entries, day = history
    doc["licence"] = doc["licence"] or {
        "number": "教民144010670000123号",
        "first_approved_on": "2019-05-01",
        "issued_on": "2019-05-01",
        "valid_until": "2029-04-30",
        "status": "valid",
        "scope": {},
    }
    doc["licence"]["scope_history"] = entries
    doc["licence"]["scope"] = {k: entries[-1][k] for k in ("categories", "stages", "modes")}
    engine = ENGINE if all_categories else NARROW_PRESCHOOL
    result = engine.at(dt.date(2026, 5, 15)).evaluate(doc)
    assert ("BAN-SCOPE-EXTENDED", day) not in {(f.rule_id, f.subject) for f in result.findings}


NARROW_PRESCHOOL = Engine.load(
    "440106",
    overlays=[
        {
            "level": "440106",
            "parameters": {
                "ban.preschool_all_categories": [
                    {"value": False, "effective_from": "2021-07-24", "citation": "test"}
                ]
            },
        }
    ],
)


# --- the risk tier is monotone ----------------------------------------------------------------------------

TIER_ORDER = {"green": 0, "yellow": 1, "red": 2}
FINDING = st.tuples(
    st.sampled_from(sorted(RED_RULES | YELLOW_RULES | {"LIC-NONE", "TIME-OFFLINE-LATE"})),
    st.sampled_from(["institution", "2026-02", "2026-03", "2026-04", "C1"]),
)


@settings(max_examples=300, deadline=None)
@given(
    findings=st.lists(FINDING, max_size=6),
    extra=FINDING,
    complaints=st.integers(0, 6),
    threshold=st.one_of(st.none(), st.integers(1, 5)),
)
def test_adding_a_finding_never_lowers_the_tier(
    findings: list[tuple[str, str]], extra: tuple[str, str], complaints: int, threshold: int | None
) -> None:
    before = risk_tier(findings, complaints_30d=complaints, complaint_threshold=threshold)
    after = risk_tier([*findings, extra], complaints_30d=complaints, complaint_threshold=threshold)
    assert TIER_ORDER[after.tier] >= TIER_ORDER[before.tier]
    more = risk_tier(findings, complaints_30d=complaints + 1, complaint_threshold=threshold)
    assert TIER_ORDER[more.tier] >= TIER_ORDER[before.tier]
    assert list(after.because) == sorted(after.because)
    assert (after.tier == "green") == (after.because == ())
