"""The demo registry generator: deterministic, unique identities, the exact document shape, and a realistic
share of clean and problematic institutions (judged by a small independent reading of the rules)."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from rules.uscc import has_valid_check_character, is_well_formed
from supervision.demo import registry as demo
from supervision.demo.registry import GRIDS, generate, write_jsonl

AS_OF = date(2026, 11, 30)
HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

STAGES = {"preschool", "primary", "junior", "senior"}
COMPULSORY = {"primary", "junior"}
SCHOOL = {"primary", "junior", "senior"}
SUBJECTS = {
    "moral_law",
    "chinese",
    "history",
    "geography",
    "math",
    "foreign_language",
    "physics",
    "chemistry",
    "biology",
}
NON_SUBJECTS = {"sports", "arts", "science_tech", "comprehensive_practice", "other"}

INSTITUTION_KEYS: dict[str, type | tuple[type, ...]] = {
    "uscc": str,
    "name": str,
    "nature": str,
    "status": str,
    "district": str,
    "grid": str,
    "address": str,
    "licence": (dict, type(None)),
    "escrow": (dict, type(None)),
    "premises": list,
    "teachers": list,
    "courses": list,
}
LICENCE_KEYS = {
    "number": str,
    "first_approved_on": str,
    "issued_on": str,
    "valid_until": str,
    "status": str,
    "scope": dict,
}
SCOPE_KEYS = {"categories": list, "stages": list, "modes": list}
ESCROW_KEYS = {"mode": str, "bank": str, "account_last4": str}
PREMISES_KEYS = {"code": str, "address": str, "area_m2": str, "max_concurrent_students": int}
TEACHER_KEYS = {"code": str, "name": str, "has_teacher_certificate": bool, "serving_school_teacher": bool}
COURSE_KEYS = {
    "code": str,
    "title": str,
    "category": str,
    "subject": str,
    "stages": list,
    "mode": str,
    "class_size_max": int,
    "lesson_minutes": int,
    "price_per_lesson_fen": int,
    "teacher_codes": list,
    "term": dict,
    "weekly_slots": list,
    "sessions": list,
    "prepaid_packages": list,
}
TERM_KEYS = {"start": str, "end": str}
SLOT_KEYS = {"weekday": int, "start": str, "end": str}
SESSION_KEYS = {"date": str, "start": str, "end": str}
PACKAGE_KEYS = {"code": str, "lessons": int, "months": int, "price_fen": int}


@cache
def sample(count: int, seed: int = 2026) -> tuple[dict[str, Any], ...]:
    return tuple(generate(count, seed=seed, as_of=AS_OF))


def shape(obj: object, keys: Mapping[str, type | tuple[type, ...]], where: str) -> None:
    assert isinstance(obj, dict), where
    assert set(obj) == set(keys), f"{where}: keys {sorted(obj)}"
    for key, types in keys.items():
        value = obj[key]
        assert isinstance(value, types), f"{where}.{key}: {value!r}"
        if types is int:
            assert not isinstance(value, bool), f"{where}.{key}: {value!r}"


def real_date(text: str) -> date:
    assert ISO_DATE.fullmatch(text), text
    return date.fromisoformat(text)


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


# ---- determinism -------------------------------------------------------------------------------------


def test_same_seed_gives_identical_documents() -> None:
    assert list(generate(300, seed=7)) == list(generate(300, seed=7))
    assert list(generate(50, seed=7, as_of=date(2025, 4, 1))) == list(
        generate(50, seed=7, as_of=date(2025, 4, 1))
    )


def test_different_seed_gives_different_documents() -> None:
    a, b = list(generate(100, seed=1)), list(generate(100, seed=2))
    assert a != b
    assert not {d["uscc"] for d in a} & {d["uscc"] for d in b}


def test_a_shorter_stream_is_a_prefix_of_a_longer_one() -> None:
    assert list(generate(40, seed=3)) == list(itertools.islice(generate(400, seed=3), 40))


def test_generate_streams() -> None:
    stream = generate(10**6)
    assert not isinstance(stream, list | tuple)
    assert next(stream)["district"] == "天河区"


def test_count_is_checked() -> None:
    assert list(generate(0)) == []
    with pytest.raises(ValueError):
        generate(-1)
    with pytest.raises(ValueError):
        generate(demo.MAX_COUNT + 1)


# ---- identity ----------------------------------------------------------------------------------------


def test_identities_are_unique() -> None:
    docs = sample(5000)
    for field in ("uscc", "name"):
        values = [d[field] for d in docs]
        assert len(set(values)) == len(values), field
    numbers = [d["licence"]["number"] for d in docs if d["licence"]]
    assert len(set(numbers)) == len(numbers)
    assert len({d["uscc"][8:17] for d in docs}) == len(docs)  # the organisation code part alone


def test_names_stay_unique_when_brands_run_out() -> None:
    names = demo._Names()
    v = names.v
    drawn = [names.name("广州天河", brand, "艺术培训中心") for brand in (5, 5, v + 9) * 3000]
    assert len(set(drawn)) == len(drawn)
    assert drawn[0] == "广州天河" + demo._BRAND_WORDS[5] + "艺术培训中心"
    assert drawn[2] == "广州天河" + demo._BRAND_WORDS[9] + demo._BRAND_WORDS[0] + "艺术培训中心"
    assert drawn[1][4:6] == demo._BRAND_WORDS[5] and drawn[1][6:8] in demo._EXTRA_WORDS


def test_name_vocabulary_parses_back() -> None:
    brand, extra = demo._BRAND_WORDS, demo._EXTRA_WORDS
    assert len(set(brand)) == len(brand) > 150 and len(set(extra)) == len(extra) > 50
    assert all(len(w) == 2 for w in brand + extra)
    assert not set(brand) & set(extra)
    assert all(w[0] not in "天市" for w in brand)
    assert not {t[:2] for t in demo._TAIL_LIST} & (set(brand) | set(extra))


def test_credit_codes() -> None:
    docs = sample(5000)
    assert all(is_well_formed(d["uscc"]) for d in docs)
    bad = sum(not has_valid_check_character(d["uscc"]) for d in docs)
    assert 1 <= bad <= 0.015 * len(docs)
    assert all(d["uscc"][:8] in ("52440106", "91440106") for d in docs)
    mismatched = sum((d["nature"] == "non_profit") != d["uscc"].startswith("52") for d in docs)
    assert 0.01 * len(docs) <= mismatched <= 0.06 * len(docs)


def test_licence_numbers_look_real() -> None:
    for d in sample(2000):
        if d["licence"]:
            assert re.fullmatch(r"教民1440106\d{8}号", d["licence"]["number"]), d["licence"]["number"]


# ---- shape -------------------------------------------------------------------------------------------


def test_documents_have_exactly_the_format_shape() -> None:
    for i, d in enumerate(sample(3000)):
        at = f"doc {i}"
        shape(d, INSTITUTION_KEYS, at)
        assert d["nature"] in ("non_profit", "for_profit")
        assert d["status"] in ("operating", "suspended", "closed")
        assert d["district"] == "天河区"
        assert d["grid"] in GRIDS
        assert d["address"].startswith(f"广州市天河区{d['grid']}街道")
        json.dumps(d, ensure_ascii=False)

        lic = d["licence"]
        if lic is not None:
            shape(lic, LICENCE_KEYS, f"{at}.licence")
            assert lic["status"] in ("valid", "suspended", "revoked")
            first, issued, until = (
                real_date(lic[k]) for k in ("first_approved_on", "issued_on", "valid_until")
            )
            assert first <= issued <= until
            scope = lic["scope"]
            shape(scope, SCOPE_KEYS, f"{at}.scope")
            assert scope["categories"] and set(scope["categories"]) <= {"subject", "non_subject"}
            assert scope["stages"] and set(scope["stages"]) <= STAGES
            assert scope["modes"] and set(scope["modes"]) <= {"online", "offline"}
            for values in scope.values():
                assert len(set(values)) == len(values)

        if d["escrow"] is not None:
            shape(d["escrow"], ESCROW_KEYS, f"{at}.escrow")
            assert d["escrow"]["mode"] in ("bank_custody", "risk_reserve")
            assert d["escrow"]["bank"].endswith("银行天河支行")
            assert re.fullmatch(r"\d{4}", d["escrow"]["account_last4"])

        assert 1 <= len(d["premises"]) <= 2
        for p in d["premises"]:
            shape(p, PREMISES_KEYS, f"{at}.premises")
            assert re.fullmatch(r"\d+(\.\d)?", p["area_m2"]) and Decimal(p["area_m2"]) > 0
            assert p["max_concurrent_students"] >= 1
            assert p["address"].startswith("广州市天河区")

        assert 1 <= len(d["teachers"]) <= 4
        for t in d["teachers"]:
            shape(t, TEACHER_KEYS, f"{at}.teachers")
            assert re.fullmatch(r".老师", t["name"])
        assert len({t["name"] for t in d["teachers"]}) == len(d["teachers"])

        assert 1 <= len(d["courses"]) <= 4
        teacher_codes = {t["code"] for t in d["teachers"]}
        for c in d["courses"]:
            where = f"{at}.{c.get('code')}"
            shape(c, COURSE_KEYS, where)
            assert c["category"] in ("subject", "non_subject")
            assert c["subject"] in (SUBJECTS if c["category"] == "subject" else NON_SUBJECTS)
            assert c["stages"] and set(c["stages"]) <= STAGES
            assert c["mode"] in ("online", "offline")
            assert c["class_size_max"] >= 1 and c["lesson_minutes"] >= 1 and c["price_per_lesson_fen"] > 0
            assert c["teacher_codes"] and set(c["teacher_codes"]) <= teacher_codes
            shape(c["term"], TERM_KEYS, f"{where}.term")
            assert real_date(c["term"]["start"]) < real_date(c["term"]["end"])
            assert 1 <= len(c["weekly_slots"]) <= 2 and len(c["sessions"]) <= 3
            for s in c["weekly_slots"]:
                shape(s, SLOT_KEYS, f"{where}.slot")
                assert 1 <= s["weekday"] <= 7
            for s in c["sessions"]:
                shape(s, SESSION_KEYS, f"{where}.session")
                real_date(s["date"])
            for s in c["weekly_slots"] + c["sessions"]:
                assert HHMM.fullmatch(s["start"]) and HHMM.fullmatch(s["end"]), s
                assert s["start"] < s["end"]
                assert minutes(s["end"]) - minutes(s["start"]) == c["lesson_minutes"]
            for k in c["prepaid_packages"]:
                shape(k, PACKAGE_KEYS, f"{where}.package")
                assert k["lessons"] >= 1 and k["months"] >= 1 and k["price_fen"] > 0


def test_codes_are_unique_and_numbered_within_an_institution() -> None:
    for d in sample(3000):
        for prefix, items in (
            ("P", d["premises"]),
            ("T", d["teachers"]),
            ("C", d["courses"]),
        ):
            assert [x["code"] for x in items] == [f"{prefix}{i + 1}" for i in range(len(items))]
        packages = [k["code"] for c in d["courses"] for k in c["prepaid_packages"]]
        assert sorted(packages, key=lambda k: int(k[1:])) == [f"K{i + 1}" for i in range(len(packages))]
        titles = [c["title"] for c in d["courses"]]
        assert len(set(titles)) == len(titles)


def test_all_grids_are_used() -> None:
    grids = Counter(d["grid"] for d in sample(2000))
    assert set(grids) == set(GRIDS) and len(GRIDS) == 21


def test_the_mix_looks_like_the_district() -> None:
    docs = sample(5000)
    n = len(docs)
    subject = [d for d in docs if d["licence"] and "subject" in d["licence"]["scope"]["categories"]]
    assert 0.25 * n <= len(subject) <= 0.35 * n
    assert sum(d["nature"] == "non_profit" for d in subject) >= 0.85 * len(subject)
    before_ban = sum(d["licence"]["first_approved_on"] < "2021-07-24" for d in subject)
    assert before_ban >= 0.9 * len(subject)
    others = [d for d in docs if d["licence"] and d not in subject]
    years = Counter(d["licence"]["first_approved_on"][:4] for d in others)
    assert {str(y) for y in range(2015, 2027)} <= set(years)
    status = Counter(d["status"] for d in docs)
    assert status["operating"] >= 0.9 * n and status["suspended"] and status["closed"]
    escrow = Counter(d["escrow"]["mode"] if d["escrow"] else None for d in docs)
    assert escrow["bank_custody"] > escrow["risk_reserve"] > escrow[None] > 0
    courses = [c for d in docs for c in d["courses"]]
    assert sum(c["mode"] == "offline" for c in courses) >= 0.8 * len(courses)
    weekend = Counter((c["category"], s["weekday"] >= 6) for c in courses for s in c["weekly_slots"])
    assert weekend[("subject", True)] < 0.05 * weekend[("subject", False)]
    assert weekend[("non_subject", True)] > 0.3 * weekend[("non_subject", False)]


# ---- clean and problematic ---------------------------------------------------------------------------

BAN = "2021-07-24"
HOLIDAYS = {"2026-09-25", "2026-09-26", "2026-09-27"} | {f"2026-10-0{i}" for i in range(1, 8)}


def guided_cap(course: dict[str, Any]) -> int:
    """Highest per-lesson price the Guangzhou overlay allows a compulsory-stage subject course."""
    if course["mode"] == "online":
        base, std = 2000, 30
    else:
        size = course["class_size_max"]
        base = 7000 if size <= 10 else 5000 if size <= 20 else 4000 if size <= 30 else 3500
        std = 45
    minutes_per_lesson: int = course["lesson_minutes"]
    return base * minutes_per_lesson * 110 // (std * 100)


def problems(d: dict[str, Any], as_of: date = AS_OF) -> set[str]:
    """The document-level rules of the catalogue, read independently of the rule engine."""
    found: set[str] = set()
    if not has_valid_check_character(d["uscc"]):
        found.add("REG-USCC-CHECKSUM")
    if (d["nature"] == "non_profit") != d["uscc"].startswith("52"):
        found.add("REG-NATURE-MISMATCH")
    lic = d["licence"]
    courses = d["courses"]
    if lic is None:
        if d["status"] == "operating":
            found.add("LIC-NONE")
    else:
        scope = lic["scope"]
        if lic["valid_until"] < as_of.isoformat():
            found.add("LIC-EXPIRED")
        if lic["status"] != "valid" and d["status"] == "operating":
            found.add("LIC-INACTIVE")
        for c in courses:
            if (
                c["category"] not in scope["categories"]
                or not set(c["stages"]) <= set(scope["stages"])
                or c["mode"] not in scope["modes"]
            ):
                found.add("LIC-SCOPE")
        new = lic["first_approved_on"] >= BAN
        if new and "subject" in scope["categories"] and set(scope["stages"]) & SCHOOL:
            found.add("BAN-SUBJECT-NEW")
        if new and "preschool" in scope["stages"]:
            found.add("BAN-PRESCHOOL-NEW")
    subject_compulsory = (
        lic is not None
        and "subject" in lic["scope"]["categories"]
        and set(lic["scope"]["stages"]) & COMPULSORY
    ) or any(c["category"] == "subject" and set(c["stages"]) & COMPULSORY for c in courses)
    if subject_compulsory and d["nature"] != "non_profit":
        found.add("NPO-SUBJECT")
    teachers = {t["code"]: t for t in d["teachers"]}
    if any(t["serving_school_teacher"] for t in d["teachers"]):
        found.add("STAFF-SERVING-TEACHER")
    for p in d["premises"]:
        if Decimal(p["area_m2"]) / p["max_concurrent_students"] < 3:
            found.add("PREM-AREA")
    has_packages = False
    for c in courses:
        stages = set(c["stages"])
        subject = c["category"] == "subject"
        online = c["mode"] == "online"
        times = c["weekly_slots"] + c["sessions"]
        if "preschool" in stages and online:
            found.add("BAN-PRESCHOOL-ONLINE")
        if subject and stages & SCHOOL:
            if any(s["weekday"] >= 6 for s in c["weekly_slots"]) or any(
                date.fromisoformat(s["date"]).isoweekday() >= 6 or s["date"] in HOLIDAYS
                for s in c["sessions"]
            ):
                found.add("TIME-SUBJECT-RESTDAY")
            if c["term"]["start"] <= "2026-08-31" and c["term"]["end"] >= "2026-07-11":
                found.add("TIME-SUBJECT-RESTDAY")
        if not online and stages & SCHOOL and any(s["end"] > "20:30" for s in times):
            found.add("TIME-OFFLINE-LATE")
        if online and stages & COMPULSORY:
            if any(s["end"] > "21:00" for s in times):
                found.add("TIME-ONLINE-LATE")
            if c["lesson_minutes"] > 30:
                found.add("TIME-ONLINE-LESSON")
        if online:
            days = Counter(s["weekday"] for s in c["weekly_slots"]) + Counter(
                s["date"] for s in c["sessions"]
            )
            if any(n > 1 for n in days.values()):
                found.add("TIME-ONLINE-BREAK")
        if subject and stages & COMPULSORY and c["price_per_lesson_fen"] > guided_cap(c):
            found.add("FEE-PRICE-CAP")
        if subject and any(not teachers[t]["has_teacher_certificate"] for t in c["teacher_codes"]):
            found.add("STAFF-NO-CERT")
        for k in c["prepaid_packages"]:
            has_packages = True
            if k["lessons"] > 60 or k["months"] > 3 or k["price_fen"] > 500_000:
                found.add("FEE-PREPAY-CAP")
    if has_packages and d["escrow"] is None:
        found.add("FEE-NO-ESCROW")
    return found


EXPECTED_PROBLEMS = {
    "REG-USCC-CHECKSUM",
    "REG-NATURE-MISMATCH",
    "LIC-NONE",
    "LIC-EXPIRED",
    "LIC-INACTIVE",
    "LIC-SCOPE",
    "BAN-SUBJECT-NEW",
    "BAN-PRESCHOOL-NEW",
    "NPO-SUBJECT",
    "TIME-SUBJECT-RESTDAY",
    "TIME-OFFLINE-LATE",
    "TIME-ONLINE-LESSON",
    "FEE-PREPAY-CAP",
    "FEE-PRICE-CAP",
    "FEE-NO-ESCROW",
    "STAFF-NO-CERT",
    "STAFF-SERVING-TEACHER",
    "PREM-AREA",
}


def test_most_institutions_are_clean_and_every_problem_occurs() -> None:
    docs = sample(5000)
    found = [problems(d) for d in docs]
    clean = sum(not f for f in found) / len(docs)
    assert 0.68 <= clean <= 0.85, clean
    counts = Counter(rule for f in found for rule in f)
    assert set(counts) == EXPECTED_PROBLEMS, set(counts) ^ EXPECTED_PROBLEMS
    for rule, n in counts.items():
        assert n <= 0.06 * len(docs), (rule, n)
    assert counts["REG-USCC-CHECKSUM"] <= 0.015 * len(docs)
    assert 0.004 * len(docs) <= counts["LIC-NONE"] <= 0.02 * len(docs)


def test_clean_data_for_another_business_date() -> None:
    as_of = date(2026, 4, 15)
    docs = list(generate(1000, seed=11, as_of=as_of))
    clean = sum(not problems(d, as_of) for d in docs) / len(docs)
    assert 0.65 <= clean <= 0.85, clean
    for d in docs:
        if d["licence"]:
            assert d["licence"]["first_approved_on"] <= as_of.isoformat()
            assert d["licence"]["issued_on"] <= as_of.isoformat()


def test_subject_timetables() -> None:
    subject = [c for d in sample(3000) for c in d["courses"] if c["category"] == "subject"]
    slots = [s for c in subject for s in c["weekly_slots"]]
    assert sum(
        s["weekday"] <= 5 and s["start"] >= "16:00" and s["end"] <= "20:30" for s in slots
    ) >= 0.9 * len(slots)
    assert all(
        c["lesson_minutes"] == 30 for c in subject if c["mode"] == "online" and c["lesson_minutes"] < 40
    )
    assert Counter(c["lesson_minutes"] for c in subject if c["mode"] == "offline").most_common(1)[0][0] == 45


# ---- JSON Lines ---------------------------------------------------------------------------------------


def test_write_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "registry.jsonl"
    assert write_jsonl(path, 200, seed=5) == 200
    raw = path.read_bytes()
    lines = raw.decode("utf-8").splitlines()
    docs = list(generate(200, seed=5))
    assert len(lines) == 200 and raw.endswith(b"\n")
    assert [json.loads(line) for line in lines] == docs
    assert lines[0] == json.dumps(docs[0], ensure_ascii=False, separators=(",", ":"))
    assert "广州" in lines[0]
