"""A parent's journey in a real browser (the system Chromium, never a downloaded one): search, open an
institution, read why it is on the warning list, download the CSV, file a complaint. Screenshots at phone
(360 px) and desktop width go to ``tests/artifacts/``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import LiveServer, decide_over_http, example_document, sign_in
from tests.lists.helpers import next_as_of

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WIDTHS = {"phone": 360, "desktop": 1280}


@pytest.fixture
def warned(supervisor: httpx.Client, live: LiveServer, engine: Engine) -> dict[str, str]:
    """An institution under a rectification order (proposed by one supervisor, approved by another), on a
    freshly published warning list."""
    doc = example_document(name=f"广州市天河区晨光端到端{doc_suffix()}培训中心")
    supervisor.post("/api/v1/institutions", json=doc).raise_for_status()
    with httpx.Client(base_url=live.url, timeout=30) as approver:
        sign_in(live, engine, approver, "supervisor")
        order = decide_over_http(
            supervisor,
            approver,
            engine,
            {
                "uscc": doc["uscc"],
                "kind": "rectification_order",
                "basis": ["TIME-OFFLINE-LATE"],
                "summary": "周三晚间初中数学课21:15结束，责令将下课时间调整到20:30以前。",
                "deadline": "2026-12-31",
            },
        )
    with Session(engine) as s:
        day = next_as_of(s)
    for kind in ("black", "warning", "white"):
        supervisor.post(f"/api/v1/lists/{kind}/publish", json={"as_of": day.isoformat()}).raise_for_status()
    return {
        "uscc": doc["uscc"],
        "name": doc["name"],
        "reference": order["reference"],
        "as_of": day.isoformat(),
    }


_n = iter(range(10**6))


def doc_suffix() -> str:
    return f"{dt.datetime.now().strftime('%H%M%S')}{next(_n)}"


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_parent_searches_reads_why_downloads_and_complains(
    browser: object, live: LiveServer, warned: dict[str, str], device: str, tmp_path: Path, check_a11y: Any
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    width = WIDTHS[device]
    ARTIFACTS.mkdir(exist_ok=True)
    ctx = browser.new_context(
        viewport={"width": width, "height": 800}, base_url=live.url, accept_downloads=True, locale="zh-CN"
    )
    page = ctx.new_page()
    try:
        # 1. search by name, with the keyboard
        page.goto("/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        page.keyboard.press("Tab")
        expect(page.locator("a.skip")).to_be_focused()
        page.get_by_label("机构名称、信用代码或许可证号").fill(warned["name"])
        page.get_by_label("名单", exact=True).select_option("warning")
        page.get_by_label("机构名称、信用代码或许可证号").press("Enter")
        hit = page.get_by_role("link", name=warned["name"])
        expect(hit).to_be_visible()
        expect(page.locator("ul.results li").filter(has=hit)).to_contain_text("警示名单")
        page.screenshot(path=str(ARTIFACTS / f"search-{device}.png"), full_page=True)
        check_a11y(page)

        # 2. open the institution and read why it is on the warning list
        hit.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(warned["name"])
        status = page.locator("section.status-box")
        expect(status).to_contain_text("警示名单")
        expect(status).to_contain_text("责令限期整改")
        expect(status).to_contain_text(warned["reference"])
        expect(status).to_contain_text("整改期限：2026-12-31")
        expect(status).to_contain_text("20:30")  # the rule's plain description, with the limit in force
        expect(status).to_contain_text("法律依据")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"the page scrolls sideways at {width}px ({scroll_width}px wide)"
        page.screenshot(path=str(ARTIFACTS / f"institution-{device}.png"), full_page=True)
        check_a11y(page)

        # 3. the warning list, its CSV download
        page.goto("/lists/warning")
        expect(page.locator("dl.edition")).to_contain_text("SHA-256")
        with page.expect_download() as info:
            page.get_by_role("link", name="下载 CSV（Excel 可直接打开）").click()
        path = tmp_path / "warning.csv"
        info.value.save_as(path)
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = {r["uscc"]: r for r in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))}
        assert rows[warned["uscc"]]["reason"] == f"TIME-OFFLINE-LATE {warned['reference']}"
        page.screenshot(path=str(ARTIFACTS / f"warning-list-{device}.png"), full_page=True)
        check_a11y(page)

        # 4. file a complaint from the institution's page; a first attempt with too little text keeps it all
        page.goto(f"/institutions/{warned['uscc']}")
        page.get_by_role("link", name="举报这家机构").click()
        expect(page.get_by_label("统一社会信用代码（选填）")).to_have_value(warned["uscc"])
        page.get_by_label("举报内容（必填）").fill("太短")
        page.get_by_label("联系方式（选填）").fill("138 0000 0000")
        page.get_by_role("button", name="提交举报").click()
        expect(page.get_by_role("alert")).to_contain_text("请修改以下内容后再提交")
        check_a11y(page, "the complaint form with its problems")
        expect(page.get_by_label("联系方式（选填）")).to_have_value("138 0000 0000")
        expect(page.get_by_label("举报内容（必填）")).to_have_value("太短")
        page.get_by_label("举报内容（必填）").fill("11月18日晚上九点多孩子才下课，机构说可以一直上到十点。")
        page.get_by_role("button", name="提交举报").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("举报已收到")
        reference = page.locator("strong.reference").inner_text()
        assert reference.startswith("JB")
        page.screenshot(path=str(ARTIFACTS / f"complaint-received-{device}.png"), full_page=True)
        check_a11y(page)

        # 5. the same page in English
        page.goto(f"/institutions/{warned['uscc']}?lang=en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("section.status-box")).to_contain_text("Warning list")
        page.screenshot(path=str(ARTIFACTS / f"institution-en-{device}.png"), full_page=True)
        check_a11y(page)
    finally:
        ctx.close()
