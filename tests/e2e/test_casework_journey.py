"""The officers' journeys in the system Chromium, as their users would go:

1. A parent's complaint, filed on a phone, is triaged into a case; two officers inspect with a photo; a
   rectification order is proposed and approved by a second officer; the follow-up after the deadline moves
   the case to verifying; it is closed as rectified and the lift approved. The institution is on the warning
   list at the next edition and back on the white list at the one after; the parent's page shows the outcome.
2. A blacklisting is proposed and approved by a supervisor; the institution states its case in its portal;
   the officer answers it and records the decision after the statement period; only then is the institution
   on the black list.

Screenshots of the dashboard, "my work" and the institution page at 1280 px are kept in tests/artifacts/.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.cases import casework, queries
from supervision.core.clock import FixedClock
from supervision.demo.casework import evidence_png
from tests.conftest import TODAY, LiveServer, save_institution, sign_in
from tests.escrow.helpers import institution_with_key
from tests.lists.helpers import next_as_of

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PASSWORD = "correct horse battery"


@pytest.fixture
def crew(live: LiveServer, engine: Engine) -> Iterator[dict[str, str]]:
    """Two officers of 石牌 and a supervisor: their usernames, for signing in in the browser."""
    with httpx.Client(base_url=live.url, timeout=30) as client:
        names = {
            "officer": sign_in(live, engine, client, "officer", ("石牌",)),
            "officer2": sign_in(live, engine, client, "officer", ("石牌",)),
            "supervisor": sign_in(live, engine, client, "supervisor"),
        }
    yield names
    live.clock.instant = FixedClock.on(TODAY).instant


def console(browser: Any, live: LiveServer, username: str, width: int = 1280) -> Any:
    """A browser context signed in to the console through its sign-in form."""
    ctx = browser.new_context(viewport={"width": width, "height": 900}, base_url=live.url, locale="zh-CN")
    page = ctx.new_page()
    page.goto("/staff/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff")
    return page


def publish(live: LiveServer, engine: Engine) -> dt.date:
    """The next editions of the three lists, published by a supervisor signed in now."""
    with Session(engine) as s:
        day = max(next_as_of(s), live.clock.today())
    with httpx.Client(base_url=live.url, timeout=30) as api:
        sign_in(live, engine, api, "supervisor")
        for kind in ("black", "warning", "white"):
            api.post(f"/api/v1/lists/{kind}/publish", json={"as_of": day.isoformat()}).raise_for_status()
    return day


def listed(live: LiveServer, uscc: str) -> str | None:
    record = httpx.get(f"{live.url}/api/v1/public/institutions/{uscc}").json()
    return record["list"]["kind"] if record.get("list") else None


def step(page: Any, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def test_complaint_to_rectification_to_lift(
    browser: Any, live: LiveServer, engine: Engine, crew: dict[str, str], tmp_path: Path, check_a11y: Any
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    with Session(engine) as s:
        doc = save_institution(s, name=f"广州市天河区旅程一{dt.datetime.now():%H%M%S%f}培训中心")
        s.commit()
    uscc = doc["uscc"]

    # A parent files a complaint on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live.url, locale="zh-CN")
    parent = phone.new_page()
    parent.goto(f"/complaints/new?uscc={uscc}")
    parent.get_by_label("举报内容（必填）").fill("工作日晚上九点以后还在上课，孩子十点才到家。")
    parent.get_by_role("button", name="提交举报").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("举报已收到")
    complaint = parent.locator("strong.reference").inner_text()
    assert parent.evaluate("document.documentElement.scrollWidth") <= 390
    check_a11y(parent, "the complainant's page")

    # The officer triages it into a case and takes it.
    officer = console(browser, live, crew["officer"])
    officer.goto("/staff/my-work")
    officer.get_by_role("link", name=complaint).click()
    officer.get_by_label("涉及的规则或违规行为").select_option("TIME-OFFLINE-LATE")
    step(officer, "立案")
    expect(officer.locator("dl.facts")).to_contain_text("案件")
    officer.locator("dl.facts a[href^='/staff/cases/']").click()
    case_ref = officer.locator("h1").inner_text().split()[1]
    step(officer, "开始调查")
    expect(officer.locator("h1")).to_contain_text("调查中")

    # Two officers inspect; a photo is attached.
    photo = tmp_path / "现场.png"
    photo.write_bytes(evidence_png(7))
    officer.goto(f"/staff/inspections/new?uscc={uscc}")
    officer.get_by_label("检查人员（至少两名，含本人）").select_option([crew["officer"], crew["officer2"]])
    officer.get_by_label("现场照片或文件（JPEG、PNG、WebP、PDF，不超过 10 MiB）").set_input_files(str(photo))
    step(officer, "保存检查记录")
    expect(officer.get_by_role("link", name="现场.png")).to_be_visible()

    # A rectification order is proposed by one officer and approved by the other.
    deadline = TODAY + dt.timedelta(days=7)
    officer.goto(f"/staff/cases/{case_ref}")
    officer.get_by_label("决定类型").select_option("rectification_order")
    officer.get_by_label("事实与决定（公开）").fill("工作日晚间线下课程21:00后结束，责令调整到20:30以前。")
    officer.get_by_label("整改期限（责令整改）").fill(deadline.isoformat())
    step(officer, "提出处理决定，送审核")
    expect(officer.locator("h1")).to_contain_text("待审核")
    step(officer, "批准")
    expect(officer.get_by_role("alert")).to_contain_text("two-person")
    second = console(browser, live, crew["officer2"])
    second.goto(f"/staff/cases/{case_ref}")
    step(second, "批准")
    expect(second.locator("h1")).to_contain_text("整改中")
    publish(live, engine)
    assert listed(live, uscc) == "warning"

    # The day after the deadline the scheduler's follow-up re-checks it.
    after = deadline + dt.timedelta(days=1)
    live.clock.instant = FixedClock.on(after).instant
    with Session(engine) as s:
        moved = casework.follow_up(s, after, now=live.clock.now(), jurisdiction="440106")
        s.commit()
    assert case_ref in moved
    officer.context.close()  # a week on, the sessions have expired: sign in again
    second.context.close()
    officer = console(browser, live, crew["officer"])
    officer.goto(f"/staff/cases/{case_ref}")
    expect(officer.locator("h1")).to_contain_text("待核查")
    expect(officer.locator("dl.facts")).to_contain_text("按规则复查已整改")
    officer.get_by_label("整改结果").select_option("rectified")
    step(officer, "结案")
    expect(officer.locator("h1")).to_contain_text("已结案")
    second = console(browser, live, crew["officer2"])
    second.goto(f"/staff/cases/{case_ref}")
    step(second, "批准")  # the lift of the order
    publish(live, engine)
    assert listed(live, uscc) == "white"

    # The parent's page shows the outcome, nothing internal.
    parent.goto(f"/complaints/{complaint}")
    expect(parent.locator("dl.facts")).to_contain_text("已办结")
    expect(parent.locator("dl.facts")).to_contain_text("21:00")
    body = parent.content()
    assert crew["officer"] not in body and "staff:" not in body
    parent.screenshot(path=str(ARTIFACTS / "complainant-390.png"), full_page=True)

    # Screenshots of the pages officers live in.
    for name, url in (
        ("dashboard", "/staff?grid=石牌"),
        ("my-work", "/staff/my-work"),
        ("institution", f"/staff/institutions/{uscc}"),
        ("case", f"/staff/cases/{case_ref}"),
        ("cases", "/staff/cases"),
        ("complaints", "/staff/complaints"),
        ("complaint", f"/staff/complaints/{complaint}"),
        ("inspections", "/staff/inspections"),
        ("inspection-new", "/staff/inspections/new"),
        ("decisions", "/staff/decisions"),
        ("institutions-red", "/staff/institutions?risk_tier=red"),
        ("rule-runs", "/staff/rule-runs"),
        ("escrow-institution", f"/staff/escrow/{uscc}"),
    ):
        officer.goto(url)
        assert officer.evaluate("document.documentElement.scrollWidth") <= 1280, url
        officer.screenshot(path=str(ARTIFACTS / f"console-{name}-1280.png"), full_page=True)
        check_a11y(officer, url)
    # A rule run's page: its calendar notice (the demo date is past the end of the calendar data).
    officer.goto("/staff/rule-runs")
    officer.locator("a[href^='/staff/rule-runs/']").first.click()
    expect(officer.locator(".notice")).to_contain_text("日历数据即将用尽")
    officer.screenshot(path=str(ARTIFACTS / "console-rule-run-1280.png"), full_page=True)
    check_a11y(officer, "rule run")
    tablet = console(browser, live, crew["officer"], width=768)
    for url in ("/staff", f"/staff/cases/{case_ref}", f"/staff/institutions/{uscc}"):
        tablet.goto(url)
        assert tablet.evaluate("document.documentElement.scrollWidth") <= 768, url
    tablet.screenshot(path=str(ARTIFACTS / "console-institution-768.png"), full_page=True)
    tablet.context.close()
    for page in (officer, second, parent):
        page.context.close()


def test_blacklisting_after_the_institution_is_heard(
    browser: Any, live: LiveServer, engine: Engine, crew: dict[str, str], tmp_path: Path, check_a11y: Any
) -> None:
    from playwright.sync_api import expect

    doc, key = institution_with_key(engine, name=f"广州市天河区旅程二{dt.datetime.now():%H%M%S%f}培训中心")
    uscc = doc["uscc"]

    officer = console(browser, live, crew["officer"])
    officer.goto("/staff/cases")
    officer.get_by_label("统一社会信用代码（已登记机构）").fill(uscc)
    officer.get_by_label("案情摘要").fill("以“托管”名义在居民楼内开展学科类培训。")
    officer.get_by_label("涉及的规则或违规行为").select_option("CONDUCT-DISGUISED")
    step(officer, "立案")
    case_ref = officer.locator("h1").inner_text().split()[1]
    step(officer, "开始调查")
    officer.get_by_label("决定类型").select_option("blacklist")
    officer.get_by_label("事实与决定（公开）").fill("隐形变异开展学科类培训，列入黑名单。")
    step(officer, "提出处理决定，送审核")
    supervisor = console(browser, live, crew["supervisor"])
    supervisor.goto(f"/staff/cases/{case_ref}")
    step(supervisor, "批准")
    expect(supervisor.locator("h1")).to_contain_text("已告知")
    publish(live, engine)
    assert listed(live, uscc) != "black", "on the black list before the decision"

    # The institution states its case in its portal, with a PDF.
    pdf = tmp_path / "说明.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + zlib.compress(b"statement") + b"\n%%EOF\n")
    portal = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=live.url, locale="zh-CN"
    ).new_page()
    portal.goto("/portal")
    portal.get_by_label("机构密钥（以 sk_ 开头）").fill(key)
    portal.get_by_role("button", name="登录").click()
    portal.get_by_role("link", name="通知与决定").click()
    expect(portal.locator("section.status-box")).to_contain_text("拟列入黑名单")
    portal.get_by_label("陈述、申辩").fill("我机构所开展的是看护服务，不涉及学科类培训，附情况说明。")
    portal.get_by_label("附件（PDF、JPEG、PNG，每个不超过 10 MiB，可多选）").set_input_files(str(pdf))
    step(portal, "提交陈述、申辩")
    expect(portal.locator("section.status-box")).to_contain_text("看护服务")
    portal.screenshot(path=str(ARTIFACTS / "portal-notice-1280.png"), full_page=True)
    check_a11y(portal, "the portal's notices")

    # The officer cannot decide before the period ends nor before answering; then does both.
    officer.goto(f"/staff/cases/{case_ref}")
    expect(officer.get_by_role("link", name="说明.pdf")).to_be_visible()
    step(officer, "作出决定")
    expect(officer.get_by_role("alert")).to_contain_text("answer")
    officer.get_by_label("答复（采纳或不予采纳的理由）").fill("现场检查发现学科类教材和课表，陈述不予采纳。")
    step(officer, "记录对陈述申辩的答复")
    with Session(engine) as s:
        due = casework.get_case(s, case_ref)
        notice = queries.proposals_of_case(s, due.id or 0)[-1]
    live.clock.instant = FixedClock.on((notice.statement_due or TODAY) + dt.timedelta(days=1)).instant
    officer.context.close()  # the sessions of a week ago have expired
    officer = console(browser, live, crew["officer"])
    officer.goto(f"/staff/cases/{case_ref}")
    step(officer, "作出决定")
    expect(officer.locator("h1")).to_contain_text("已决定")
    publish(live, engine)
    assert listed(live, uscc) == "black"
    portal.goto("/portal")  # a week on: sign in again
    portal.get_by_label("机构密钥（以 sk_ 开头）").fill(key)
    portal.get_by_role("button", name="登录").click()
    portal.goto("/portal/notices")
    expect(portal.locator("section.status-box")).to_contain_text("不予采纳")
    expect(portal.locator("section.status-box")).to_contain_text("已作出决定")
    for page in (officer, supervisor, portal):
        page.context.close()
