"""The case work over real HTTP: open a case, work it to a decision with two people, a 409 for a stale
version, the complaints inbox, an inspection with a photo, the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.demo.casework import evidence_png
from tests.cases.conftest import client_as
from tests.conftest import TODAY, example_document, save_institution


@pytest.fixture(scope="module")
def crew(live: Any, engine: Engine) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        "officer": client_as(live, engine, "officer", ("石牌",)),
        "officer2": client_as(live, engine, "officer", ("石牌",)),
        "outsider": client_as(live, engine, "officer", ("五山",)),
        "supervisor": client_as(live, engine, "supervisor"),
    }
    yield clients
    for c in clients.values():
        c.close()


def registered(engine: Engine) -> str:
    with Session(engine) as s:
        doc = save_institution(s, example_document())
        s.commit()
    return str(doc["uscc"])


def act(client: httpx.Client, ref: str, **body: Any) -> httpx.Response:
    version = client.get(f"/api/v1/cases/{ref}").json()["case"]["version"]
    return client.post(f"/api/v1/cases/{ref}/actions", json={"version": version, **body})


def test_a_case_is_worked_to_a_decision_by_two_people(crew: dict[str, httpx.Client], engine: Engine) -> None:
    officer, officer2, outsider = crew["officer"], crew["officer2"], crew["outsider"]
    uscc = registered(engine)
    r = officer.post("/api/v1/cases", json={"uscc": uscc, "basis": ["LIC-EXPIRED"], "summary": "执照过期"})
    assert r.status_code == 201, r.text
    ref = r.json()["case"]["reference"]
    assert r.json()["case"]["grid"] == "石牌" and r.json()["actions"] == [
        "assigned",
        "investigating",
        "merged",
    ]
    assert outsider.post("/api/v1/cases", json={"uscc": uscc, "summary": "x"}).status_code == 403
    assert act(outsider, ref, action="start").status_code == 403
    assert act(officer, ref, action="start").status_code == 200
    warning = {"kind": "warning", "basis": ["LIC-EXPIRED"], "summary": "警告"}
    assert act(officer, ref, action="propose", proposal=warning).status_code == 200
    mine = act(officer, ref, action="approve")
    assert mine.status_code == 403 and "two-person" in mine.json()["detail"]
    done = act(officer2, ref, action="approve")
    assert done.status_code == 200, done.text
    detail = done.json()
    assert detail["case"]["state"] == "decided" and detail["proposals"][0]["status"] == "approved"
    assert [e["to_state"] for e in detail["events"]] == ["new", "investigating", "proposed", "decided"]
    listed = officer.get("/api/v1/cases", params={"uscc": uscc, "state": "decided"}).json()
    assert [c["reference"] for c in listed["items"]] == [ref]


def test_two_people_acting_on_one_version_one_gets_a_409(
    crew: dict[str, httpx.Client], engine: Engine
) -> None:
    officer, officer2 = crew["officer"], crew["officer2"]
    ref = officer.post("/api/v1/cases", json={"uscc": registered(engine), "summary": "并发"}).json()["case"][
        "reference"
    ]
    first = officer.post(f"/api/v1/cases/{ref}/actions", json={"version": 1, "action": "note", "note": "a"})
    assert first.status_code == 200
    start = officer.post(f"/api/v1/cases/{ref}/actions", json={"version": 1, "action": "start"})
    again = officer2.post(f"/api/v1/cases/{ref}/actions", json={"version": 1, "action": "start"})
    assert start.status_code == 200 and again.status_code == 409, again.text
    assert again.json()["error"] in ("stale_version", "invalid_transition")
    bad = officer.post(f"/api/v1/cases/{ref}/actions", json={"version": 2, "action": "fly"})
    assert bad.status_code == 422


def test_the_inbox_triages_a_complaint_into_a_case(
    crew: dict[str, httpx.Client], engine: Engine, http: httpx.Client
) -> None:
    officer = crew["officer"]
    uscc = registered(engine)
    with Session(engine) as s:
        from supervision.cases import service
        from supervision.cases.schemas import ComplaintIn

        ref = service.file_complaint(
            s,
            ComplaintIn(uscc=uscc, text="周末在居民楼里上数学课。", contact="13800000000"),
            now=dt.datetime.now(dt.UTC),
            jurisdiction="440106",
        )
        s.commit()
    rows = officer.get("/api/v1/complaints", params={"uscc": uscc, "status": "new"}).json()["items"]
    assert [r["reference"] for r in rows] == [ref] and rows[0]["contact"] == "13800000000"
    r = officer.post(
        f"/api/v1/complaints/{ref}/triage",
        json={"action": "open_case", "basis": ["TIME-SUBJECT-RESTDAY"], "summary": "周末学科类培训"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "opened" and r.json()["case_reference"]
    again = officer.post(f"/api/v1/complaints/{ref}/triage", json={"action": "reject", "reason": "重复"})
    assert again.status_code == 409
    public = http.get(f"/complaints/{ref}")
    assert public.status_code == 200 and "13800000000" not in public.text


def test_an_inspection_with_a_photo_and_the_dashboard(crew: dict[str, httpx.Client], engine: Engine) -> None:
    officer, officer2 = crew["officer"], crew["officer2"]
    uscc = registered(engine)
    items = [
        {"code": c, "result": "pass"}
        for c in (
            "licence_displayed",
            "fees_displayed",
            "teachers_displayed",
            "timetable_matches",
            "premises_safe",
            "advertising_truthful",
            "model_contract",
            "prepaid_escrow",
        )
    ]
    items[5] = {"code": "advertising_truthful", "result": "fail", "note": "“保证提分”广告"}
    body = {
        "uscc": uscc,
        "inspected_on": TODAY.isoformat(),
        "officers": [officer.headers["X-Test-User"], officer2.headers["X-Test-User"]],
        "items": items,
    }
    r = officer.post("/api/v1/inspections", json=body)
    assert r.status_code == 201, r.text
    ref, case_ref = r.json()["reference"], r.json()["case_reference"]
    assert case_ref
    photo = evidence_png(3)
    up = officer.post(
        f"/api/v1/inspections/{ref}/attachments", files={"file": ("现场.jpg", photo, "image/jpeg")}
    )
    assert up.status_code == 201, up.text
    assert up.json()["content_type"] == "image/png"  # by content, not by name
    got = officer.get(f"/api/v1/attachments/{up.json()['id']}")
    assert got.status_code == 200 and got.content == photo
    text_file = officer.post(
        f"/api/v1/inspections/{ref}/attachments", files={"file": ("a.jpg", b"hello", "image/jpeg")}
    )
    assert text_file.status_code == 422
    assert httpx.get(f"{officer.base_url}/api/v1/attachments/{up.json()['id']}").status_code == 401
    d = officer.get("/api/v1/dashboard", params={"grid": "石牌"})
    assert d.status_code == 200 and d.json()["grid"] == "石牌"
    assert d.json()["cases"]["by_state"]["new"] >= 1
    assert officer.get("/api/v1/dashboard", params={"grid": "火星"}).status_code == 422
