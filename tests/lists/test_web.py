"""The parents' website and the list and decision APIs, over real HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from rules import all_rules
from supervision.core import rulebook
from tests.conftest import LiveServer, decide_over_http, example_document, sign_in
from tests.lists.helpers import next_as_of, recompute


@pytest.fixture
def staff(supervisor: httpx.Client) -> httpx.Client:
    """These tests act as a supervisor: publishing the lists is the supervisors'."""
    return supervisor


@pytest.fixture
def approver(live: LiveServer, engine: Engine) -> Iterator[httpx.Client]:
    """A second supervisor: decisions take two people."""
    with httpx.Client(base_url=live.url, timeout=30) as client:
        sign_in(live, engine, client, "supervisor")
        yield client


_addresses = itertools.count(20)


def client_from_own_address(live: LiveServer) -> httpx.Client:
    """A client with its own loopback source address (the complaint limit is per client address)."""
    n = next(_addresses)
    transport = httpx.HTTPTransport(local_address=f"127.0.{n // 250}.{n % 250 + 2}")
    return httpx.Client(base_url=live.url, transport=transport, timeout=30)


def register(staff: httpx.Client, **changes: Any) -> dict[str, Any]:
    doc = example_document(**changes)
    r = staff.post("/api/v1/institutions", json=doc)
    assert r.status_code == 201, r.text
    return doc


def publish_all(staff: httpx.Client, engine: Engine) -> dt.date:
    with Session(engine) as s:
        day = next_as_of(s)
    for kind in ("black", "warning", "white"):
        r = staff.post(f"/api/v1/lists/{kind}/publish", json={"as_of": day.isoformat()})
        assert r.status_code == 201, r.text
    return day


def test_decision_api_proposes_a_second_person_approves_and_refuses(
    staff: httpx.Client, approver: httpx.Client, engine: Engine
) -> None:
    doc = register(staff)
    order = {
        "uscc": doc["uscc"],
        "kind": "rectification_order",
        "basis": ["TIME-OFFLINE-LATE"],
        "summary": "晚间课程超时",
        "deadline": "2026-12-31",
    }
    proposed = staff.post("/api/v1/decisions", json=order)
    assert proposed.status_code == 202, proposed.text
    pid = proposed.json()["proposal"]["id"]
    assert (
        proposed.json()["proposal"]["status"] == "pending" and proposed.json()["case"]["source"] == "manual"
    )
    assert staff.get("/api/v1/decisions", params={"uscc": doc["uscc"]}).json()["total"] == 0
    mine = staff.post(f"/api/v1/decisions/proposals/{pid}/approve", json={})
    assert mine.status_code == 403 and "two-person" in mine.json()["detail"]
    approved = approver.post(f"/api/v1/decisions/proposals/{pid}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert approver.post(f"/api/v1/decisions/proposals/{pid}/approve", json={}).status_code == 409
    body = staff.get(f"/api/v1/decisions/{approved.json()['decision_id']}").json()
    assert body["officer"] == staff_name(staff) and body["approved_by"] == f"staff:{staff_name(approver)}"
    dup = staff.post(
        "/api/v1/decisions",
        json={
            "uscc": doc["uscc"],
            "kind": "warning",
            "basis": ["CONDUCT-OTHER"],
            "summary": "x",
            "reference": body["reference"],
        },
    )
    assert dup.status_code == 409 and dup.json()["error"] == "duplicate_reference"
    bad = staff.post(
        "/api/v1/decisions",
        json={
            "uscc": doc["uscc"],
            "kind": "rectification_order",
            "basis": ["NOPE"],
            "summary": "x",
            "until": "2027-01-01",
            "extra": 1,
        },
    )
    assert bad.status_code == 422
    locs = {p["loc"] for p in bad.json()["problems"]}
    assert "extra" in locs
    listed = staff.get("/api/v1/decisions", params={"uscc": doc["uscc"]}).json()
    assert [d["reference"] for d in listed["items"]] == [body["reference"]]
    assert staff.get(f"/api/v1/decisions/{body['id']}").json()["summary"] == "晚间课程超时"
    assert httpx.get(f"{staff.base_url}/api/v1/decisions").status_code == 401


def staff_name(client: httpx.Client) -> str:
    return client.headers["X-Test-User"]


def test_publish_api_is_once_per_date(staff: httpx.Client, engine: Engine) -> None:
    register(staff)
    day = publish_all(staff, engine)
    again = staff.post("/api/v1/lists/white/publish", json={"as_of": day.isoformat()})
    assert again.status_code == 200 and again.json()["status"] == "already_published"
    older = staff.post(
        "/api/v1/lists/white/publish", json={"as_of": (day - dt.timedelta(days=1)).isoformat()}
    )
    assert older.status_code == 409
    assert httpx.post(f"{staff.base_url}/api/v1/lists/white/publish").status_code == 401


def test_every_published_edition_recomputes_from_the_served_json_and_chains(
    staff: httpx.Client, approver: httpx.Client, engine: Engine
) -> None:
    doc = register(staff)
    publish_all(staff, engine)
    decide_over_http(
        staff,
        approver,
        engine,
        {"uscc": doc["uscc"], "kind": "blacklist", "basis": ["CONDUCT-REFUND"], "summary": "拒不退费"},
    )
    publish_all(staff, engine)
    checked = 0
    for kind in ("white", "warning", "black"):
        latest = staff.get(f"/api/v1/lists/{kind}/latest").json()
        prev = None
        for seq in range(1, latest["seq"] + 1):
            r = staff.get(f"/lists/{kind}/editions/{seq}.json")
            assert r.status_code == 200
            ed = r.json()
            assert recompute(ed) == ed["sha256"] == r.headers["X-Edition-SHA256"]
            assert ed["prev_sha256"] == (prev["sha256"] if prev else None)
            assert ed["seq"] == seq and ed["kind"] == kind
            assert [e["uscc"] for e in ed["entries"]] == sorted(e["uscc"] for e in ed["entries"])
            prev = ed
            checked += 1
        assert prev is not None and prev["sha256"] == latest["sha256"]
        assert staff.get(f"/api/v1/lists/{kind}/editions/{latest['seq']}").json() == latest
    assert checked >= 6
    black = staff.get("/lists/black/latest.json").json()
    assert any(
        e["uscc"] == doc["uscc"] and e["reason"].startswith("CONDUCT-REFUND ") for e in black["entries"]
    )


def test_csv_download_has_bom_rows_and_hash_header(staff: httpx.Client, engine: Engine) -> None:
    register(staff)
    publish_all(staff, engine)
    r = staff.get("/lists/white/latest.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["uscc", "name", "licence_number", "address", "grid", "categories", "reason", "since"]
    doc = staff.get("/lists/white/latest.json").json()
    assert r.headers["X-Edition-SHA256"] == doc["sha256"]
    assert [row[0] for row in rows[1:]] == [e["uscc"] for e in doc["entries"]]
    assert rows[1][1] == doc["entries"][0]["name"]


def test_atom_feed_has_one_entry_per_edition(staff: httpx.Client, engine: Engine, live: LiveServer) -> None:
    register(staff)
    publish_all(staff, engine)
    r = staff.get("/lists/feed.atom")
    assert r.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(r.content)
    # The title names the configured jurisdiction (jurisdictions.yaml), not a district written in the code.
    name = rulebook.engine(live.app.state.settings.jurisdiction).jurisdiction.name_zh
    assert (feed.findtext("a:title", namespaces=ns) or "").startswith(name)
    assert name in (feed.findtext("a:author/a:name", namespaces=ns) or "")
    entries = feed.findall("a:entry", ns)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM list_edition WHERE status = 'published'")).scalar_one()
    assert len(entries) == min(n, 200)
    ids = [e.find("a:id", ns).text for e in entries]  # type: ignore[union-attr]
    assert len(set(ids)) == len(ids)
    assert all("SHA-256" in (e.find("a:summary", ns).text or "") for e in entries)  # type: ignore[union-attr]


def test_institution_page_explains_the_warning_in_plain_chinese_and_english(
    staff: httpx.Client, approver: httpx.Client, engine: Engine
) -> None:
    doc = register(staff)
    order = decide_over_http(
        staff,
        approver,
        engine,
        {
            "uscc": doc["uscc"],
            "kind": "rectification_order",
            "basis": ["TIME-OFFLINE-LATE"],
            "summary": "周三晚间课程21:00结束，责令调整。",
            "deadline": "2026-12-31",
        },
    )
    day = publish_all(staff, engine)
    page = httpx.get(f"{staff.base_url}/institutions/{doc['uscc']}")
    assert page.status_code == 200
    html = page.text
    assert 'lang="zh-Hans"' in html
    assert "警示名单" in html and order["reference"] in html
    assert "线下培训结束时间过晚" in html or "TIME-OFFLINE-LATE" in html
    assert "2026-12-31" in html and "周三晚间课程21:00结束" in html
    assert "国办发〔2018〕80号" in html  # the legal basis of TIME-OFFLINE-LATE
    assert f"第{staff.get('/api/v1/lists/warning/latest').json()['seq']}期" in html
    with httpx.Client(base_url=str(staff.base_url)) as visitor:
        en = visitor.get(f"/institutions/{doc['uscc']}", params={"lang": "en"})
        assert 'lang="en"' in en.text and "Warning list" in en.text and "Legal basis" in en.text
        assert visitor.cookies.get("lang") == "en"
        assert 'lang="en"' in visitor.get("/").text  # the choice is kept
        assert 'lang="zh-Hans"' in visitor.get("/", params={"lang": "zh"}).text
    record = httpx.get(f"{staff.base_url}/api/v1/public/institutions/{doc['uscc']}").json()
    assert record["list"]["kind"] == "warning" and record["list"]["as_of"] == day.isoformat()
    ground = record["list"]["grounds"][0]
    assert ground["reference"] == order["reference"] and ground["rules"][0]["id"] == "TIME-OFFLINE-LATE"
    assert "teachers" not in record and "account_last4" not in str(record) and "张老师" not in str(record)


def test_search_filters_by_list_and_shows_status(
    staff: httpx.Client, approver: httpx.Client, engine: Engine
) -> None:
    white = register(staff)
    black = register(staff)
    decide_over_http(
        staff,
        approver,
        engine,
        {"uscc": black["uscc"], "kind": "blacklist", "basis": ["CONDUCT-DISGUISED"], "summary": "隐形变异"},
    )
    publish_all(staff, engine)
    got = httpx.get(
        f"{staff.base_url}/api/v1/public/institutions", params={"q": black["uscc"], "list": "black"}
    )
    assert [i["uscc"] for i in got.json()["items"]] == [black["uscc"]]
    assert got.json()["items"][0]["list"]["kind"] == "black"
    none = httpx.get(
        f"{staff.base_url}/api/v1/public/institutions", params={"q": white["uscc"], "list": "black"}
    )
    assert none.json()["total"] == 0
    html = httpx.get(f"{staff.base_url}/", params={"q": black["uscc"]}).text
    assert "黑名单" in html and "隐形变异开展学科类培训" in html


def test_search_past_the_count_cap_walks_names_in_order_and_says_more(
    staff: httpx.Client, monkeypatch: Any
) -> None:
    """A search matching more than the counted cap says "more than", pages through the first ones in name
    order (found by walking the name index, not by sorting every match), and stops at the cap."""
    from supervision.lists import search as public_lists

    tag = f"qz{datetime_token()}"
    names = [f"广州{tag}培训中心{c}" for c in "ABCDE"]  # the same order under any collation
    usccs = {register(staff, name=name)["uscc"]: name for name in names}
    api = f"{staff.base_url}/api/v1/public/institutions"

    def page(n: int, size: int = 2) -> dict[str, Any]:
        r = httpx.get(api, params={"q": tag, "page": n, "page_size": size})
        assert r.status_code == 200, r.text
        return dict(r.json())

    everything = page(1, 20)
    assert (everything["total"], everything["more"]) == (5, False)
    assert [i["name"] for i in everything["items"]] == names
    assert {i["uscc"] for i in everything["items"]} == set(usccs)

    monkeypatch.setattr(public_lists, "COUNT_CAP", 3)
    first, second, third = page(1), page(2), page(3)
    assert (first["total"], first["more"]) == (3, True)
    assert [i["name"] for i in first["items"]] == names[:2]
    assert [i["name"] for i in second["items"]] == names[2:3]
    assert third["items"] == []
    html = httpx.get(f"{staff.base_url}/", params={"q": tag}).text
    assert "找到超过 3 家机构" in html
    english = httpx.get(f"{staff.base_url}/", params={"q": tag, "lang": "en"}).text
    assert "More than 3 institutions found" in english


def test_a_broad_search_remembers_its_page_for_a_minute_and_shows_fresh_fields(
    staff: httpx.Client, monkeypatch: Any
) -> None:
    """Past the count cap, which institutions a page lists is remembered for a minute (per process); their
    fields are read anew every time, and a narrow search is always current."""
    from supervision.lists import search as public_lists

    tag = f"qy{datetime_token()}"
    docs = [register(staff, name=f"广州{tag}艺术中心{c}") for c in "ABCDE"]
    api = f"{staff.base_url}/api/v1/public/institutions"

    def names(size: int = 2) -> list[str]:
        r = httpx.get(api, params={"q": tag, "page_size": size})
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()["items"]]

    monkeypatch.setattr(public_lists, "COUNT_CAP", 3)
    assert names() == [d["name"] for d in docs[:2]]
    renamed = dict(docs[0], name="广州新名字艺术中心")
    assert staff.put(f"/api/v1/institutions/{renamed['uscc']}", json=renamed).status_code == 200
    # Within the minute: the same institutions, the renamed one under its new name.
    assert names() == ["广州新名字艺术中心", docs[1]["name"]]
    # A minute later: searched again.
    start = public_lists._broad_pages.clock()
    monkeypatch.setattr(public_lists._broad_pages, "clock", lambda: start + public_lists.BROAD_TTL + 1)
    assert names() == [d["name"] for d in docs[1:3]]
    # Narrow (under the cap): never remembered.
    monkeypatch.setattr(public_lists, "COUNT_CAP", 1000)
    assert names(20) == [d["name"] for d in docs[1:]]
    gone = dict(docs[1], name="广州另一个名字艺术中心")
    assert staff.put(f"/api/v1/institutions/{gone['uscc']}", json=gone).status_code == 200
    assert names(20) == [d["name"] for d in docs[2:]]


def test_broad_pages_are_bounded_and_expire() -> None:
    from supervision.lists.search import BroadPages

    now = [100.0]
    pages = BroadPages(ttl=60, size=3, clock=lambda: now[0])
    for k in range(3):
        pages.put((k,), [k])
    assert [pages.get((k,)) for k in range(3)] == [[0], [1], [2]]
    pages.put((3,), [3])  # full, nothing expired: the oldest goes
    assert pages.get((0,)) is None and pages.get((3,)) == [3]
    now[0] += 30
    pages.put((4,), [4])  # full again: the oldest current one goes
    assert pages.get((1,)) is None
    now[0] += 31  # (2) and (3) have expired, (4) has not
    assert pages.get((2,)) is None and pages.get((3,)) is None and pages.get((4,)) == [4]
    pages.put((5,), [5])
    assert pages.get((4,)) == [4] and pages.get((5,)) == [5]


def datetime_token() -> str:
    return dt.datetime.now(dt.UTC).strftime("%H%M%S%f")


def test_negative_list_names_every_rule(http: httpx.Client) -> None:
    html = http.get("/negative-list").text
    for rule in all_rules():
        assert rule.id in html and rule.title_zh in html
    assert "20:30" in html  # a parameter in force, filled into its description


def test_list_pages_render(staff: httpx.Client, engine: Engine) -> None:
    register(staff)
    publish_all(staff, engine)
    latest = staff.get("/api/v1/lists/white/latest").json()
    for path in (
        "/lists",
        "/lists/white",
        "/lists/warning",
        "/lists/black",
        "/lists/white/editions",
        f"/lists/white/editions/{latest['seq']}",
        "/lists/verify",
        "/complaints/new",
    ):
        r = httpx.get(f"{staff.base_url}{path}")
        assert r.status_code == 200, path
        assert '<main id="main"' in r.text
    assert latest["sha256"] in httpx.get(f"{staff.base_url}/lists/white").text
    assert httpx.get(f"{staff.base_url}/lists/purple").status_code == 422
    assert httpx.get(f"{staff.base_url}/lists/white/editions/99999.json").status_code == 404


# ------------------------------------------------------------------------------------------ complaints


def form_token(client: httpx.Client, path: str = "/complaints/new") -> str:
    page = client.get(path)
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m, page.text
    return m.group(1)


def test_complaint_is_filed_and_gets_a_reference(live: LiveServer, engine: Engine) -> None:
    with client_from_own_address(live) as c:
        token = form_token(c)
        r = c.post(
            "/complaints",
            data={
                "csrf_token": token,
                "institution_name": "某某托管班",
                "uscc": "",
                "text": "周六在小区会所给初中生上数学课，每次三小时。",
                "contact": "13800000000",
            },
        )
        assert r.status_code == 303
        ref = r.headers["location"].rsplit("/", 1)[1]
        assert re.fullmatch(r"JB\d{8}-[2-9A-Z]{6}", ref)
        page = c.get(r.headers["location"])
        assert ref in page.text and "13800000000" not in page.text
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM complaint WHERE reference = :r"), {"r": ref}).one()
    assert row.institution_name == "某某托管班" and row.contact == "13800000000" and row.uscc is None


def test_complaint_without_the_form_token_is_refused_and_nothing_is_lost(live: LiveServer) -> None:
    text_typed = "机构拒绝退费，已经拖了两个月。"
    with client_from_own_address(live) as c:
        r = c.post("/complaints", data={"text": text_typed, "contact": "王女士"})
        assert r.status_code == 403
        assert text_typed in r.text and "王女士" in r.text
        retry = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert retry
        ok = c.post("/complaints", data={"csrf_token": retry.group(1), "text": text_typed})
        assert ok.status_code == 303
    with client_from_own_address(live) as other:
        token = form_token(other)
        foreign = other.post(
            "/complaints",
            data={"csrf_token": token, "text": text_typed},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403


def test_invalid_complaint_shows_the_form_again_filled_in(live: LiveServer) -> None:
    with client_from_own_address(live) as c:
        token = form_token(c)
        r = c.post(
            "/complaints",
            data={
                "csrf_token": token,
                "uscc": "123",
                "institution_name": "星星培训",
                "text": "太短",
                "contact": "x",
            },
        )
        assert r.status_code == 422
        assert 'value="123"' in r.text and 'value="星星培训"' in r.text and ">太短</textarea>" in r.text
        assert r.text.count('aria-invalid="true"') == 2
        assert "统一社会信用代码应为18位数字和大写字母" in r.text


def test_complaints_are_rate_limited_per_client_and_nothing_is_lost(live: LiveServer) -> None:
    limit = live.app.state.settings.complaint_limit
    with client_from_own_address(live) as c:
        token = form_token(c)
        for i in range(limit):
            r = c.post("/complaints", data={"csrf_token": token, "text": f"第{i}次举报：晚上十点还在上课。"})
            assert r.status_code == 303
        r = c.post("/complaints", data={"csrf_token": token, "text": "再次举报：晚上十点还在上课。"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        assert "再次举报：晚上十点还在上课。" in r.text
    with client_from_own_address(live) as other:
        token = form_token(other)
        assert (
            other.post(
                "/complaints", data={"csrf_token": token, "text": "另一位家长的举报内容。"}
            ).status_code
            == 303
        )


def test_staff_pages_for_decisions_and_lists(
    staff: httpx.Client, approver: httpx.Client, engine: Engine
) -> None:
    doc = register(staff)
    token = staff.headers["Authorization"].split()[1]
    with httpx.Client(base_url=str(staff.base_url), cookies={"sv_staff": token}) as console:
        page = console.get("/staff/decisions")
        assert page.status_code == 200 and "提出处理决定" in page.text
        csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        bad = console.post(
            "/staff/decisions",
            data={
                "csrf_token": csrf_token,
                "uscc": doc["uscc"],
                "kind": "rectification_order",
                "summary": "缺少期限",
            },
        )
        assert bad.status_code == 422 and "缺少期限" in bad.text and "deadline" in bad.text
        ok = console.post(
            "/staff/decisions",
            data={
                "csrf_token": csrf_token,
                "uscc": doc["uscc"],
                "kind": "warning",
                "basis": ["CONDUCT-ADVERTISING"],
                "summary": "违规广告",
            },
        )
        assert ok.status_code == 303
        proposed = console.get(ok.headers["location"]).text
        assert "违规广告" in proposed and "待审核" in proposed
        pid = re.search(r'action="/staff/decisions/proposals/(\d+)/approve"', proposed).group(1)  # type: ignore[union-attr]
        mine = console.post(f"/staff/decisions/proposals/{pid}/approve", data={"csrf_token": csrf_token})
        assert mine.status_code == 403 and "two-person" in mine.text
        second = approver.headers["Authorization"].split()[1]
        with httpx.Client(base_url=str(staff.base_url), cookies={"sv_staff": second}) as other:
            other_page = other.get("/staff/decisions")
            other_token = re.search(r'name="csrf_token" value="([^"]+)"', other_page.text).group(1)  # type: ignore[union-attr]
            done = other.post(f"/staff/decisions/proposals/{pid}/approve", data={"csrf_token": other_token})
            assert done.status_code == 303
        recorded = staff.get("/api/v1/decisions", params={"uscc": doc["uscc"]}).json()["items"]
        assert [d["kind"] for d in recorded] == ["warning"]
        lists_page = console.get("/staff/lists")
        assert lists_page.status_code == 200 and "手动发布" in lists_page.text
    assert httpx.get(f"{staff.base_url}/staff/decisions", follow_redirects=False).status_code == 303


def test_public_record_in_one_statement_equals_the_registry_public_view(staff: httpx.Client) -> None:
    """The institution page reads its record in one statement; it must show exactly the public view."""
    from supervision.registry.schemas import public_document

    doc = register(staff)
    stored = staff.get(f"/api/v1/institutions/{doc['uscc']}").json()
    record = httpx.get(f"{staff.base_url}/api/v1/public/institutions/{doc['uscc']}").json()
    expected = json.loads(json.dumps(public_document(stored)))
    assert {k: record[k] for k in expected} == expected
    other = doc["uscc"][:-1] + ("1" if doc["uscc"].endswith("0") else "0")  # a code registered by no one
    assert httpx.get(f"{staff.base_url}/api/v1/public/institutions/{other}").status_code == 404


def test_request_id_is_echoed_or_made(http: httpx.Client) -> None:
    assert http.get("/livez", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", http.get("/lists/verify").headers["X-Request-ID"])
