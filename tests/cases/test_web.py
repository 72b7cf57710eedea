"""The console's case work pages over real HTTP: every page renders for a signed-in officer, the lists
filter and export CSV (with a BOM, formula-like cells neutralised), a stale form is answered with the 409
message, evidence files are for staff only."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.core.csvout import cell, to_csv
from tests.conftest import LiveServer, save_institution, sign_in


@pytest.fixture
def console(live: LiveServer, engine: Engine) -> httpx.Client:
    """An officer of 石牌 signed in to the console with its cookie."""
    api = httpx.Client(base_url=live.url, timeout=30)
    sign_in(live, engine, api, "officer", ("石牌",))
    token = api.headers["Authorization"].split()[1]
    api.close()
    return httpx.Client(base_url=live.url, timeout=30, cookies={"sv_staff": token})


def token_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    assert [cell(v) for v in ("=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "正常", None, ["a", "b"])] == [
        "'=1+1",
        "'+86 138",
        "'-5",
        "'@SUM(A1)",
        "'\tx",
        "正常",
        "",
        "a|b",
    ]
    data = to_csv(["名称"], [['=HYPERLINK("x")']])
    assert data.startswith(b"\xef\xbb\xbf") and b"'=HYPERLINK" in data


def test_every_console_page_renders_and_a_case_is_worked_through_its_forms(
    console: httpx.Client, engine: Engine
) -> None:
    with Session(engine) as s:
        doc = save_institution(s, name="=天河公式培训中心")
        s.commit()
    for url in (
        "/staff",
        "/staff?grid=石牌",
        "/staff/my-work",
        "/staff/cases",
        "/staff/complaints",
        "/staff/inspections",
        "/staff/inspections/new",
        f"/staff/institutions/{doc['uscc']}",
    ):
        r = console.get(url)
        assert r.status_code == 200, url
    page = console.get("/staff/cases").text
    opened = console.post(
        "/staff/cases",
        data={
            "csrf_token": token_of(page),
            "uscc": doc["uscc"],
            "basis": "LIC-EXPIRED",
            "summary": "执照过期",
        },
    )
    assert opened.status_code == 303, opened.text
    url = opened.headers["location"]
    case_page = console.get(url).text
    assert "新立案" in case_page and "开始调查" in case_page
    version = re.search(r'name="version" value="(\d+)"', case_page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token_of(case_page), "version": version, "action": "start"}
    assert console.post(f"{url}/actions", data=form).status_code == 303
    stale = console.post(f"{url}/actions", data={**form, "action": "note", "note": "x"})
    assert stale.status_code == 303  # a note does not need the latest version
    again = console.post(f"{url}/actions", data=form)
    assert again.status_code == 409 and "cannot move" in again.text
    assert "调查中" in console.get(url).text
    exported = console.get("/staff/cases", params={"uscc": doc["uscc"], "format": "csv"})
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "案号" and rows[1][1] == "'=天河公式培训中心" and rows[1][5] == "调查中"
    findings = console.get("/staff/findings", params={"uscc": doc["uscc"], "format": "csv"})
    assert findings.status_code == 200 and findings.content.startswith(b"\xef\xbb\xbf")
    assert (
        httpx.get(f"{console.base_url}/staff/cases", follow_redirects=False).headers["location"]
        == "/staff/login"
    )
