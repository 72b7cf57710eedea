"""The rule API, the findings API and the console pages, over real HTTP."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import httpx
from sqlalchemy import Engine, text

from supervision.web.api.rules import EVALUATE_LIMIT
from tests.compliance.helpers import expired
from tests.conftest import LiveServer, example_document

EVALUATE = "/api/v1/rules/evaluate"
_addresses = itertools.count(1)


def own_client(live: LiveServer, address: str | None = None) -> httpx.Client:
    """A client with a loopback source address of its own (the self-check limit is per client address)."""
    if address is None:
        n = next(_addresses)
        address = f"127.3.{n // 250}.{n % 250 + 2}"
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=live.url, transport=transport, timeout=30)


def stored(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("institution", "finding", "rule_run", "audit_log")
        }


def register(staff: httpx.Client, doc: dict[str, Any]) -> dict[str, Any]:
    r = staff.post("/api/v1/institutions", json=doc)
    assert r.status_code == 201, r.text
    return doc


def open_rules(staff: httpx.Client, uscc: str) -> set[str]:
    r = staff.get("/api/v1/findings", params={"uscc": uscc, "status": "open"})
    assert r.status_code == 200, r.text
    return {f["rule_id"] for f in r.json()["items"]}


# ----------------------------------------------------------------------------------------- self-check


def test_evaluate_answers_and_stores_nothing(live: LiveServer, engine: Engine) -> None:
    doc = expired()
    before = stored(engine)
    with own_client(live) as c:
        r = c.post(EVALUATE, params={"as_of": "2026-11-30"}, json=doc)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["as_of"] == "2026-11-30" and body["jurisdiction"] == "440106"
        [f] = body["findings"]  # no "statements" key: the statement rules are not evaluated
        assert (f["rule_id"], f["severity"], f["subject"]) == ("LIC-EXPIRED", "critical", "institution")
        assert f["message_zh"] and f["message_en"] and "53号" in f["legal_basis"]
        assert f["trace"]["facts"]["licence.valid_until"] == "2026-11-29"
        assert "2026-11-29" in f["trace"]["comparison"]

        with_none = c.post(EVALUATE, params={"as_of": "2026-11-30"}, json={**doc, "statements": []}).json()
        assert [(x["rule_id"], x["subject"]) for x in with_none["findings"]] == [
            ("FEE-STATEMENT-MISSING", "2026-10"),
            ("LIC-EXPIRED", "institution"),
        ]
        short = _statement("2026-10", liability=1_500_000)
        with_one = c.post(
            EVALUATE, params={"as_of": "2026-11-30"}, json={**doc, "statements": [short]}
        ).json()
        assert {(x["rule_id"], x["subject"]) for x in with_one["findings"]} == {
            ("FEE-ESCROW-SHORTFALL", "2026-10"),
            ("LIC-EXPIRED", "institution"),
            ("RISK-LARGE-RELEASE", "2026-10/X-1"),  # its one release is over 10% of the opening balance
        }
        shortfall = next(x for x in with_one["findings"] if x["rule_id"] == "FEE-ESCROW-SHORTFALL")
        assert shortfall["trace"]["parameters"][0]["name"] == "escrow.coverage_pct"

        # Without as_of: today's business date of the server's clock.
        assert c.post(EVALUATE, json=doc).json()["as_of"] == live.clock.today().isoformat()
        # A later date: the licence expired longer ago, same finding.
        later = c.post(EVALUATE, params={"as_of": "2027-03-01"}, json=doc).json()
        assert [x["rule_id"] for x in later["findings"]] == ["LIC-EXPIRED"]
    assert stored(engine) == before


def _statement(period: str, *, liability: int) -> dict[str, Any]:
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
        "amends": None,
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
            {"date": f"{period}-28", "type": "release", "amount_fen": 140_000, "ref": "X-1"},
        ],
    }


def test_evaluate_invalid_document_gets_the_registry_problem_list(
    staff: httpx.Client, live: LiveServer
) -> None:
    bad = example_document()
    bad["uscc"] = "12345"
    bad["colour"] = "blue"
    bad["courses"][0]["weekly_slots"][0]["end"] = "18:00"
    bad["licence"]["valid_until"] = "2027-02-30"
    from_registry = staff.post("/api/v1/institutions", json=bad)
    assert from_registry.status_code == 422
    with own_client(live) as c:
        r = c.post(EVALUATE, json=bad)
        assert r.status_code == 422
        assert r.json() == from_registry.json()
        assert len(r.json()["problems"]) >= 4

        wrong = _statement("2026-10", liability=1)
        wrong["closing_balance_fen"] = 5
        wrong["colour"] = "red"
        r = c.post(
            EVALUATE, json={**example_document(), "statements": [_statement("2026-09", liability=1), wrong]}
        )
        assert r.status_code == 422
        locs = {p["loc"] for p in r.json()["problems"]}
        assert "statements[1].colour" in locs and all(loc.startswith("statements[1]") for loc in locs)

        twice = [_statement("2026-10", liability=1), _statement("2026-10", liability=1)]
        r = c.post(EVALUATE, json={**example_document(), "statements": twice})
        assert r.status_code == 422 and r.json()["problems"][0]["loc"] == "statements[1].period"

        assert c.post(EVALUATE, json=[1, 2]).status_code == 422
        assert c.post(EVALUATE, json={**example_document(), "statements": {}}).status_code == 422
        assert c.post(EVALUATE, params={"as_of": "2026-02-30"}, json=example_document()).status_code == 422


def test_evaluate_is_rate_limited_per_address(live: LiveServer) -> None:
    doc = example_document()
    address = "127.3.255.2"
    half = EVALUATE_LIMIT // 2
    with own_client(live, address) as c:
        # Invalid requests count as well: the counter is committed with the 422 answer.
        codes = [c.post(EVALUATE, json={"uscc": "x"}).status_code for _ in range(half)]
        codes += [c.post(EVALUATE, json=doc).status_code for _ in range(EVALUATE_LIMIT - half)]
        assert codes == [422] * half + [200] * (EVALUATE_LIMIT - half)
        r = c.post(EVALUATE, json=doc)
        assert r.status_code == 429
        assert r.json()["error"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    with own_client(live) as other:
        assert other.post(EVALUATE, json=doc).status_code == 200
    # The next window starts afresh for the same address.
    pinned = live.clock.instant
    live.clock.instant = pinned.replace(second=0) + dt.timedelta(minutes=1)
    try:
        with own_client(live, address) as c:
            assert c.post(EVALUATE, json=doc).status_code == 200
    finally:
        live.clock.instant = pinned


def test_catalogue(http: httpx.Client) -> None:
    r = http.get("/api/v1/rules", params={"as_of": "2026-11-30"})
    assert r.status_code == 200
    body = r.json()
    rules = {x["id"]: x for x in body["rules"]}
    late = rules["TIME-OFFLINE-LATE"]
    assert late["severity"] == "major" and late["title_zh"] and "80号" in late["legal_basis"]
    assert "20:30" in late["description_zh"] and late["applies"] is True
    [param] = late["parameters"]
    assert param["name"] == "time.offline_latest_end" and param["value"] == "20:30"
    assert param["level"] and param["citation"] and param["effective_from"]
    assert rules["CONDUCT-DISGUISED"]["automatic"] is False
    price = rules["FEE-PRICE-CAP"]["parameters"]
    assert {p["name"]: p["level"] for p in price}["price.base_fen"] == "440100"
    before_ban = {
        x["id"]: x for x in http.get("/api/v1/rules", params={"as_of": "2021-07-01"}).json()["rules"]
    }
    assert before_ban["BAN-SUBJECT-NEW"]["applies"] is False
    assert http.get("/api/v1/rules", params={"as_of": "yesterday"}).status_code == 422


# ---------------------------------------------------------------------------------- stored findings


def test_saving_through_the_api_reevaluates(staff: httpx.Client) -> None:
    doc = register(staff, expired())
    assert open_rules(staff, doc["uscc"]) == {"LIC-EXPIRED", "FEE-STATEMENT-MISSING"}
    runs = staff.get("/api/v1/rule-runs", params={"scope": "institution"}).json()["items"]
    assert runs[0]["uscc"] == doc["uscc"] and runs[0]["actor"].startswith("staff:")
    assert runs[0]["counts"]["by_rule"]["LIC-EXPIRED"]["opened"] == 1

    doc["licence"]["valid_until"] = "2028-12-31"
    r = staff.put(f"/api/v1/institutions/{doc['uscc']}", json=doc)
    assert r.status_code == 200 and r.json() == doc
    assert open_rules(staff, doc["uscc"]) == {"FEE-STATEMENT-MISSING"}
    [resolved] = staff.get("/api/v1/findings", params={"uscc": doc["uscc"], "status": "resolved"}).json()[
        "items"
    ]
    assert resolved["rule_id"] == "LIC-EXPIRED" and resolved["resolved_on"] == "2026-11-30"

    detail = staff.get(f"/api/v1/findings/{resolved['id']}").json()
    assert detail["trace"]["facts"]["licence.valid_until"] == "2026-11-29" and detail["history"] == []
    run = staff.get(f"/api/v1/rule-runs/{detail['resolved_run_id']}").json()
    assert run["scope"] == "institution" and run["counts"]["by_rule"]["LIC-EXPIRED"]["resolved"] == 1
    assert staff.get("/api/v1/findings/999999999").status_code == 404
    assert staff.get("/api/v1/rule-runs/999999999").status_code == 404


def test_findings_filters_and_paging(staff: httpx.Client, live: LiveServer) -> None:
    a = register(staff, expired(grid="石牌"))
    b = example_document(grid="龙洞")
    b["teachers"][0]["serving_school_teacher"] = True
    register(staff, b)

    def items(**params: Any) -> list[dict[str, Any]]:
        r = staff.get("/api/v1/findings", params=params)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    assert [f["rule_id"] for f in items(uscc=a["uscc"])] == ["LIC-EXPIRED", "FEE-STATEMENT-MISSING"]
    assert [f["rule_id"] for f in items(uscc=a["uscc"], severity="critical")] == ["LIC-EXPIRED"]
    assert items(uscc=b["uscc"], rule="LIC-EXPIRED") == []
    assert items(uscc=a["uscc"], status="resolved") == []
    serving = items(rule="STAFF-SERVING-TEACHER", grid="龙洞", page_size=200)
    assert b["uscc"] in {f["uscc"] for f in serving}
    assert {(f["grid"], f["rule_id"], f["severity"]) for f in serving} == {
        ("龙洞", "STAFF-SERVING-TEACHER", "major")
    }
    assert items(uscc=b["uscc"], grid="石牌") == []

    first = staff.get("/api/v1/findings", params={"uscc": a["uscc"], "page_size": 1}).json()
    second = staff.get("/api/v1/findings", params={"uscc": a["uscc"], "page_size": 1, "page": 2}).json()
    assert first["total"] == second["total"] == 2
    assert [first["items"][0]["rule_id"], second["items"][0]["rule_id"]] == [
        "LIC-EXPIRED",
        "FEE-STATEMENT-MISSING",
    ]

    assert staff.get("/api/v1/findings", params={"severity": "fatal"}).status_code == 422
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/api/v1/findings").status_code == 401
        assert anonymous.get("/api/v1/rule-runs").status_code == 401


def test_console_pages(staff: httpx.Client, live: LiveServer) -> None:
    doc = register(staff, expired(name="天河区控制台测试培训中心"))
    listing = staff.get("/staff/findings", params={"uscc": doc["uscc"]})
    assert listing.status_code == 200
    assert (
        "天河区控制台测试培训中心" in listing.text
        and "LIC-EXPIRED" in listing.text
        and "严重" in listing.text
    )
    filtered = staff.get(
        "/staff/findings", params={"rule": "LIC-EXPIRED", "grid": doc["grid"], "status": "all"}
    )
    assert filtered.status_code == 200 and doc["uscc"] in filtered.text

    [missing] = [
        f
        for f in staff.get("/api/v1/findings", params={"uscc": doc["uscc"]}).json()["items"]
        if f["rule_id"] == "FEE-STATEMENT-MISSING"
    ]
    page = staff.get(f"/staff/findings/{missing['id']}")
    assert page.status_code == 200
    for text_ in (
        "读取的事实",
        "适用的参数",
        "资金监管报表报送截止日（次月）",
        "全国",
        "2021-10-29",
        "比较",
        "2026-10",
    ):
        assert text_ in page.text, text_

    runs = staff.get("/staff/rule-runs", params={"scope": "institution"})
    assert runs.status_code == 200 and doc["uscc"] in runs.text
    run = staff.get(f"/staff/rule-runs/{missing['first_run_id']}")
    assert run.status_code == 200 and "FEE-STATEMENT-MISSING" in run.text and "各规则" in run.text
    assert staff.get("/staff/findings/999999999", headers={"accept": "text/html"}).status_code == 404

    with httpx.Client(base_url=live.url) as anonymous:
        r = anonymous.get("/staff/findings", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/staff/login"
