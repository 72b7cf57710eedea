"""On a phone (390 px) in the system Chromium: an institution reads a notice of a proposed blacklisting in its
portal, states its case with a file and asks for a hearing, and waives another notice; a complainant
follows a complaint, in Chinese and in English. No page scrolls sideways, every field is reached by its
label, and the focused control is outlined. Screenshots go to ``tests/artifacts/``."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.cases import inbox
from tests.cases.conftest import NOW, user
from tests.cases.test_portal import FACTS, complain, files_of, notice_of, serve
from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WIDTH = 390


def phone(browser: Any, live: LiveServer) -> Any:
    ctx = browser.new_context(viewport={"width": WIDTH, "height": 844}, base_url=live.url, locale="zh-CN")
    return ctx.new_page()


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {WIDTH})"
        ".map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 20))"
    )
    assert width <= WIDTH, f"{page.url} scrolls sideways at {WIDTH}px ({width}px wide): {wide}"


def outlined(page: Any) -> None:
    """The focused control shows where it is (WCAG 2.4.7)."""
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
    )
    assert style[0] != "none" and style[1] != "0px", style


def test_the_institution_is_heard_on_a_phone(
    browser: Any, live: LiveServer, engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    n = serve(engine)
    pdf = tmp_path / "情况说明.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + zlib.compress(b"statement") + b"\n%%EOF\n")
    page = phone(browser, live)
    try:
        page.goto("/portal")
        page.get_by_label("机构密钥（以 sk_ 开头）").fill(n.key)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("link", name="通知与决定").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("通知与决定")
        notice = page.locator("section.status-box")
        expect(notice).to_contain_text("拟列入黑名单")
        expect(notice).to_contain_text(FACTS)
        expect(notice).to_contain_text("拒绝或拖延退费")
        expect(notice).to_contain_text(str(n.due))
        no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "portal-notice-390.png"), full_page=True)

        statement = page.get_by_label("陈述、申辩", exact=True)
        statement.focus()
        outlined(page)
        statement.fill("我机构开展的是看护服务，不涉及学科类培训，附情况说明。")
        page.keyboard.press("Tab")
        outlined(page)  # the hearing checkbox
        page.get_by_label("申请听证").check()
        page.get_by_label("附件（PDF、JPEG、PNG，每个不超过 10 MiB，可多选）").set_input_files(str(pdf))
        page.get_by_role("button", name="提交陈述、申辩", exact=True).click()
        page.wait_for_load_state()
        expect(notice).to_contain_text("看护服务")
        expect(notice).to_contain_text("已申请听证")
        expect(notice).to_contain_text("情况说明.pdf")
        expect(page.get_by_role("button", name="提交陈述、申辩", exact=True)).to_have_count(0)
        no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "portal-notice-stated-390.png"), full_page=True)
    finally:
        page.context.close()
    stated = notice_of(engine, n.pid)
    assert stated.hearing_requested and "看护服务" in (stated.statement or "")
    assert [f.filename for f in files_of(engine, n.pid)] == ["情况说明.pdf"]


def test_the_institution_waives_on_a_phone(browser: Any, live: LiveServer, engine: Engine) -> None:
    from playwright.sync_api import expect

    n = serve(engine, note=False)
    page = phone(browser, live)
    try:
        page.goto("/portal")
        page.get_by_label("机构密钥（以 sk_ 开头）").fill(n.key)
        page.get_by_role("button", name="登录").click()
        page.goto("/portal/notices")
        page.get_by_text("放弃陈述、申辩和听证", exact=True).click()  # opens the waiver
        confirm = page.get_by_label("我机构确认放弃本告知书所列的全部权利", exact=False)
        expect(confirm).to_be_visible()
        page.get_by_role("button", name="确认放弃").click()  # the browser asks for the tick first
        assert notice_of(engine, n.pid).waived_at is None
        confirm.check()
        page.get_by_role("button", name="确认放弃").click()
        page.wait_for_load_state()
        expect(page.locator("section.status-box")).to_contain_text("贵机构已放弃陈述、申辩和听证")
        no_sideways_scroll(page)
    finally:
        page.context.close()
    assert notice_of(engine, n.pid).waived_at is not None


def test_the_complainant_follows_a_complaint_on_a_phone(
    browser: Any, live: LiveServer, engine: Engine
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    n = serve(engine, note=False)
    reference = complain(engine, n.uscc)
    page = phone(browser, live)
    try:
        page.goto(f"/complaints/{reference}")
        expect(page.locator("dl.facts")).to_contain_text("已收到")
        expect(page.locator(".status-line")).to_contain_text(reference)
        no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "complainant-received-390.png"), full_page=True)
        with Session(engine) as s:
            officer = user(s, "officer")
            inbox.triage_reject(s, reference, "已转12315处理（消费纠纷）", officer, now=NOW)
            s.commit()
        page.goto(f"/complaints/{reference}?lang=en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("dl.facts")).to_contain_text("Concluded")
        expect(page.locator("dl.facts")).to_contain_text("Not taken up")
        no_sideways_scroll(page)
        body = page.content()
        assert officer.username not in body and "13900139000" not in body
        page.screenshot(path=str(ARTIFACTS / "complainant-concluded-en-390.png"), full_page=True)
    finally:
        page.context.close()
