"""The institution's right to be heard in its portal, and the complainant's page, over real HTTP."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.accounts.permissions import Actor
from supervision.cases import casework, inbox, inspections, queries
from supervision.cases import service as decisions_service
from supervision.cases.schemas import ComplaintIn, DecisionIn, ProposalIn
from supervision.cases.service import file_complaint
from supervision.core.clock import FixedClock
from supervision.demo.casework import evidence_png
from tests.cases.conftest import NOW, user
from tests.conftest import TODAY, LiveServer
from tests.escrow.helpers import institution_with_key
from tests.escrow.test_isolation import portal_sign_in

J = "440106"
PDF = b"%PDF-1.4\n" + zlib.compress(b"statement of the institution") + b"\n%%EOF\n"
FACTS = "以托管名义在居民楼内开展初中数学培训，拒不整改。"
NOTE = "内部备注：线索来自王科长，家长李女士电话13800138000"
CONTACT = "13900139000 陈先生"


@dataclass
class Notice:
    uscc: str
    key: str
    pid: int
    case: str
    officer: Actor
    supervisor: Actor
    due: dt.date


def serve(engine: Engine, *, kind: str = "blacklist", note: bool = True) -> Notice:
    """An institution (with a portal key) on which a notice of a proposed ``kind`` has been served: proposed
    by an officer, approved by a supervisor; the officer keeps an internal note in the case."""
    doc, key = institution_with_key(engine)
    with Session(engine) as s:
        officer, supervisor = user(s, "officer"), user(s, "supervisor")
        data = DecisionIn(uscc=doc["uscc"], kind=kind, basis=["CONDUCT-REFUND"], summary=FACTS)
        proposal = casework.propose_outside_case(s, data, officer, now=NOW, jurisdiction=J)
        case = casework.case_of_proposal(s, proposal)
        casework.approve(s, case.reference, supervisor, version=case.version, now=NOW, jurisdiction=J)
        if note:
            casework.add_note(s, case.reference, officer, NOTE, now=NOW)
        s.commit()
        assert proposal.status == "notified" and proposal.statement_due is not None
        return Notice(
            doc["uscc"], key, proposal.id or 0, case.reference, officer, supervisor, proposal.statement_due
        )


def notice_of(engine: Engine, pid: int) -> Any:
    with Session(engine) as s:
        return casework.get_proposal(s, pid)


def events(engine: Engine, case: str) -> list[tuple[str, str]]:
    with Session(engine) as s:
        c = casework.get_case(s, case)
        return [(e.kind, e.actor) for e in queries.events_of_case(s, c.id or 0)]


def files_of(engine: Engine, pid: int) -> list[Any]:
    with Session(engine) as s:
        return inspections.attachments(s, "proposal", pid)


def no_staff(page: str, *people: Actor) -> None:
    for p in people:
        assert p.username not in page and f"{p.username}显示名" not in page
    assert "staff:" not in page and NOTE not in page and "王科长" not in page


def state(
    client: httpx.Client,
    csrf: str,
    pid: int,
    text: str,
    files: list[tuple[str, bytes, str]] | None = None,
    hearing: bool = False,
) -> httpx.Response:
    data = {"csrf": csrf, "statement": text, **({"hearing": "yes"} if hearing else {})}
    sent = [("files", f) for f in files] if files else [("files", ("", b"", "application/octet-stream"))]
    return client.post(f"/portal/notices/{pid}/statement", data=data, files=sent, follow_redirects=False)


@pytest.fixture
def clock(live: LiveServer) -> Iterator[FixedClock]:
    """The live server's clock, set back to the tests' day afterwards."""
    yield live.clock
    live.clock.instant = FixedClock.on(TODAY).instant


# ------------------------------------------------------------------------------------------ the notice


def test_a_served_notice_shows_facts_basis_rights_and_deadline(live: LiveServer, engine: Engine) -> None:
    n = serve(engine)
    client, _ = portal_sign_in(live, n.key)
    assert 'href="/portal/notices"' in client.get("/portal/statements").text
    r = client.get("/portal/notices")
    assert r.status_code == 200
    page = r.text
    assert "拟列入黑名单" in page and FACTS in page
    assert "CONDUCT-REFUND" in page and "拒绝或拖延退费" in page  # the ID with its catalogue title
    assert str(n.due) in page and f"还剩 {(n.due - TODAY).days} 天" in page
    assert "5 个工作日" in page and "申请听证" in page and "放弃" in page
    assert f'action="/portal/notices/{n.pid}/statement"' in page
    assert f'action="/portal/notices/{n.pid}/waive"' in page
    assert 'enctype="multipart/form-data"' in page
    # every field has its label
    for field in (f"st-{n.pid}", f"h-{n.pid}", f"f-{n.pid}", f"c-{n.pid}"):
        assert f'<label class="radio" for="{field}"' in page or f'<label for="{field}"' in page
    no_staff(page, n.officer, n.supervisor)
    assert "没有处理决定" in page and "没有在期的整改要求" in page
    client.close()


def test_stating_the_case_keeps_the_words_the_files_and_case_events(live: LiveServer, engine: Engine) -> None:
    n = serve(engine)
    client, csrf = portal_sign_in(live, n.key)
    files = [("情况说明.pdf", PDF, "application/pdf"), ("现场照片.png", evidence_png(3), "image/png")]
    r = state(client, csrf, n.pid, "  我机构开展的是看护服务，不涉及学科类培训。  ", files, hearing=True)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/portal/notices#n-{n.pid}"
    notice = notice_of(engine, n.pid)
    assert notice.statement == "我机构开展的是看护服务，不涉及学科类培训。" and notice.hearing_requested
    kept = files_of(engine, n.pid)
    assert [(f.filename, f.content_type) for f in kept] == [
        ("情况说明.pdf", "application/pdf"),
        ("现场照片.png", "image/png"),
    ]
    assert {f.uploaded_by for f in kept} == {f"institution:{n.uscc}"}
    heard = [e for e in events(engine, n.case) if e[1] == f"institution:{n.uscc}"]
    assert heard == [("statement", f"institution:{n.uscc}")] + [("attachment", f"institution:{n.uscc}")] * 2

    page = client.get("/portal/notices").text
    assert "看护服务" in page and "已申请听证" in page and "情况说明.pdf" in page and "现场照片.png" in page
    assert "等待教育局答复和决定" in page
    assert f'action="/portal/notices/{n.pid}/statement"' not in page  # once only
    assert f'action="/portal/notices/{n.pid}/waive"' not in page
    again = state(client, csrf, n.pid, "再说一次")
    assert again.status_code == 422 and "只能提交一次" in again.text
    assert notice_of(engine, n.pid).statement == notice.statement and len(files_of(engine, n.pid)) == 2
    client.close()


def test_a_hearing_alone_is_a_statement(live: LiveServer, engine: Engine) -> None:
    n = serve(engine, note=False)
    client, csrf = portal_sign_in(live, n.key)
    assert state(client, csrf, n.pid, "", hearing=True).status_code == 303
    notice = notice_of(engine, n.pid)
    assert notice.statement is None and notice.hearing_requested
    assert "已申请听证" in client.get("/portal/notices").text
    client.close()


def test_a_refused_statement_names_every_problem_in_chinese_keeps_the_text_and_stores_nothing(
    live: LiveServer, engine: Engine
) -> None:
    n = serve(engine, note=False)
    client, csrf = portal_sign_in(live, n.key)
    files = [
        ("说明.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf"),
        ("空.png", b"", "image/png"),
        ("图.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ]
    r = state(client, csrf, n.pid, "我机构不同意<script>alert(1)</script>", files)
    assert r.status_code == 422, r.text
    assert "说明.pdf：不是 PDF、JPEG 或 PNG 文件" in r.text and "空.png：文件是空的" in r.text
    assert "图.webp：不是 PDF、JPEG 或 PNG 文件" in r.text
    assert "没有保存任何内容" in r.text and 'role="alert"' in r.text
    assert "我机构不同意&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in r.text  # kept, escaped
    empty = state(client, csrf, n.pid, "   ")
    assert empty.status_code == 422 and "请填写陈述、申辩的内容" in empty.text
    notice = notice_of(engine, n.pid)
    assert notice.statement is None and not notice.hearing_requested and files_of(engine, n.pid) == []
    assert [e for e in events(engine, n.case) if e[1].startswith("institution:")] == []
    client.close()


def test_too_many_or_too_large_files_are_refused(live: LiveServer, engine: Engine) -> None:
    n = serve(engine, note=False)
    client, csrf = portal_sign_in(live, n.key)
    six = [(f"p{i}.png", evidence_png(i), "image/png") for i in range(6)]
    r = state(client, csrf, n.pid, "说明", six)
    assert r.status_code == 422 and "附件最多 5 个" in r.text
    limit = live.app.state.settings.inspection_max_file_bytes
    big = PDF + b"0" * (limit + 1 - len(PDF))
    r = state(client, csrf, n.pid, "说明", [("大.pdf", big, "application/pdf")])
    assert r.status_code == 413 and "每个附件不能超过 10 MiB" in r.text
    assert notice_of(engine, n.pid).statement is None and files_of(engine, n.pid) == []
    client.close()


def test_the_forms_need_the_portal_s_csrf_token(live: LiveServer, engine: Engine) -> None:
    n = serve(engine, note=False)
    client, _ = portal_sign_in(live, n.key)
    assert state(client, "forged", n.pid, "说明").status_code == 403
    r = client.post(f"/portal/notices/{n.pid}/waive", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 403
    notice = notice_of(engine, n.pid)
    assert notice.statement is None and notice.waived_at is None
    client.close()


def test_waiving_needs_a_confirmation_and_works_once(live: LiveServer, engine: Engine) -> None:
    n = serve(engine, note=False)
    client, csrf = portal_sign_in(live, n.key)
    url = f"/portal/notices/{n.pid}/waive"
    unconfirmed = client.post(url, data={"csrf": csrf}, follow_redirects=False)
    assert unconfirmed.status_code == 422 and "请先勾选确认" in unconfirmed.text
    assert notice_of(engine, n.pid).waived_at is None
    r = client.post(url, data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert notice_of(engine, n.pid).waived_at is not None
    page = client.get("/portal/notices").text
    assert "贵机构已放弃陈述、申辩和听证" in page and f'action="{url}"' not in page
    again = client.post(url, data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False)
    assert again.status_code == 409 and "本告知已不能放弃" in again.text
    stated = state(client, csrf, n.pid, "放弃后又想陈述")
    assert stated.status_code == 422 and "已放弃" in stated.text
    client.close()


def test_after_the_period_the_form_is_gone(live: LiveServer, engine: Engine, clock: FixedClock) -> None:
    n = serve(engine, note=False)
    clock.instant = FixedClock.on(n.due).instant
    client, csrf = portal_sign_in(live, n.key)
    assert "今天是最后一天" in client.get("/portal/notices").text
    clock.instant = FixedClock.on(n.due + dt.timedelta(days=1)).instant
    client.close()
    client, csrf = portal_sign_in(live, n.key)  # a day on: the portal's session has ended
    page = client.get("/portal/notices").text
    assert f'action="/portal/notices/{n.pid}/statement"' not in page
    assert f'action="/portal/notices/{n.pid}/waive"' not in page
    assert "陈述、申辩期限已过，等待教育局作出决定" in page and str(n.due) in page
    late = state(client, csrf, n.pid, "迟到的陈述", [("说明.pdf", PDF, "application/pdf")])
    assert late.status_code == 422 and "陈述、申辩期限已过" in late.text
    assert notice_of(engine, n.pid).statement is None and files_of(engine, n.pid) == []
    client.close()


def test_another_institution_never_sees_nor_answers_the_notice(live: LiveServer, engine: Engine) -> None:
    n = serve(engine)
    _, other_key = institution_with_key(engine)
    other, csrf = portal_sign_in(live, other_key)
    page = other.get("/portal/notices").text
    assert FACTS not in page and f"/portal/notices/{n.pid}/" not in page and "没有事先告知书" in page
    assert state(other, csrf, n.pid, "冒充", [("说明.pdf", PDF, "application/pdf")]).status_code == 404
    waive = other.post(
        f"/portal/notices/{n.pid}/waive", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert waive.status_code == 404
    nothing = other.post("/portal/notices/999999999/waive", data={"csrf": csrf, "confirm": "yes"})
    assert nothing.status_code == 404
    notice = notice_of(engine, n.pid)
    assert notice.statement is None and notice.waived_at is None and files_of(engine, n.pid) == []
    assert httpx.get(f"{live.url}/portal/notices", follow_redirects=False).status_code == 303  # signed out
    other.close()


def test_the_answer_shows_once_the_decision_is_recorded(
    live: LiveServer, engine: Engine, clock: FixedClock
) -> None:
    n = serve(engine)
    client, csrf = portal_sign_in(live, n.key)
    assert state(client, csrf, n.pid, "我机构不同意。").status_code == 303
    answer = "现场检查发现学科类教材和课表，陈述不予采纳。"
    with Session(engine) as s:
        casework.answer_statement(s, n.case, answer, n.officer, now=NOW)
        s.commit()
    assert answer not in client.get("/portal/notices").text  # not before the decision
    later = FixedClock.on(n.due + dt.timedelta(days=1))
    with Session(engine) as s:
        case = casework.get_case(s, n.case)
        casework.decide(s, n.case, n.officer, version=case.version, now=later.now())
        s.commit()
    clock.instant = later.instant
    client, _ = portal_sign_in(live, n.key)
    page = client.get("/portal/notices").text
    assert answer in page and "教育局已作出决定" in page
    decisions = page.split('id="decisions"')[1]
    assert "列入黑名单" in decisions and FACTS in decisions and "拒绝或拖延退费" in decisions
    with Session(engine) as s:
        _, recorded = decisions_service.search_decisions(s, uscc=n.uscc, kind=None, limit=10, offset=0)
    assert [d.kind for d in recorded] == ["blacklist"]
    assert recorded[0].reference in decisions and f"决定日期 {recorded[0].decided_on}" in decisions
    no_staff(page, n.officer, n.supervisor)
    client.close()


def test_rectification_deadlines_with_the_days_left(live: LiveServer, engine: Engine) -> None:
    doc, key = institution_with_key(engine)
    deadline = TODAY + dt.timedelta(days=20)
    with Session(engine) as s:
        officer, second = user(s, "officer"), user(s, "officer")
        data = DecisionIn(
            uscc=doc["uscc"],
            kind="rectification_order",
            basis=["CONDUCT-REFUND"],
            summary="限期退还家长未消课费用。",
            deadline=deadline,
        )
        proposal = casework.propose_outside_case(s, data, officer, now=NOW, jurisdiction=J)
        case = casework.case_of_proposal(s, proposal)
        casework.approve(s, case.reference, second, version=case.version, now=NOW, jurisdiction=J)
        s.commit()
    client, _ = portal_sign_in(live, key)
    page = client.get("/portal/notices").text
    rect = page.split('id="rectifications"')[1].split('id="decisions"')[0]
    assert "限期退还家长未消课费用" in rect and str(deadline) in rect and "还剩 20 天" in rect
    assert "责令限期整改" in page.split('id="decisions"')[1]
    assert "没有事先告知书" in page  # a rectification order is not noticed: it takes effect on approval
    no_staff(page, officer, second)
    client.close()


# ------------------------------------------------------------------------------------------ the complainant


def complain(engine: Engine, uscc: str) -> str:
    with Session(engine) as s:
        reference = file_complaint(
            s,
            ComplaintIn(uscc=uscc, text="机构拒绝退还未上课时的费用，多次沟通无果。", contact=CONTACT),
            now=NOW,
            jurisdiction=J,
        )
        s.commit()
    return reference


def private(page: str, *people: Actor) -> None:
    assert CONTACT not in page and "13900139000" not in page and "陈先生" not in page
    no_staff(page, *people)


def test_the_complainant_page_received_being_handled_concluded(live: LiveServer, engine: Engine) -> None:
    doc, _ = institution_with_key(engine)
    reference = complain(engine, doc["uscc"])
    url = f"{live.url}/complaints/{reference}"
    received = httpx.get(url)
    assert received.status_code == 200
    assert reference in received.text and "已收到" in received.text and doc["name"] in received.text
    assert "请记下这个编号" in received.text and "<dt>处理结果</dt>" not in received.text
    assert str(TODAY) in received.text
    english = httpx.get(url, params={"lang": "en"}).text
    assert "Received" in english and "Progress" in english
    with Session(engine) as s:
        officer, second, chief = user(s, "officer"), user(s, "officer"), user(s, "supervisor")
        case = inbox.triage_open_case(
            s, reference, officer, basis=["CONDUCT-REFUND"], summary=NOTE, now=NOW, jurisdiction=J
        )
        casework.add_note(s, case.reference, officer, NOTE, now=NOW)
        s.commit()
        case_ref = case.reference
    handled = httpx.get(url).text
    assert "正在处理" in handled and "办结后会在本页显示处理结果" in handled
    assert "<dt>处理结果</dt>" not in handled
    private(handled, officer, second, chief)
    assert "Being handled" in httpx.get(url, params={"lang": "en"}).text
    with Session(engine) as s:
        case = casework.get_case(s, case_ref)
        casework.assign(s, case.reference, officer.username, chief, version=case.version, now=NOW)
        casework.start(s, case.reference, officer, version=case.version, now=NOW)
        casework.propose(
            s,
            case.reference,
            ProposalIn(kind="warning", basis=["CONDUCT-REFUND"], summary="拒不退费，予以警告。"),
            officer,
            version=case.version,
            now=NOW,
        )
        casework.approve(s, case.reference, second, version=case.version, now=NOW, jurisdiction=J)
        casework.close(s, case.reference, None, officer, version=case.version, now=NOW, jurisdiction=J)
        s.commit()
    concluded = httpx.get(url).text
    assert "已办结" in concluded and "<dt>处理结果</dt>" in concluded and "拒不退费，予以警告。" in concluded
    assert "请记下这个编号" not in concluded
    private(concluded, officer, second, chief)
    en = httpx.get(url, params={"lang": "en"}).text
    assert "Concluded" in en and "Outcome" in en and "A decision was made (Warning)" in en


def test_the_complainant_of_a_rejected_complaint_sees_the_reason_and_nothing_else(
    live: LiveServer, engine: Engine
) -> None:
    doc, _ = institution_with_key(engine)
    reference = complain(engine, doc["uscc"])
    with Session(engine) as s:
        officer = user(s, "officer")
        inbox.triage_reject(s, reference, "已转12315处理（消费纠纷）", officer, now=NOW)
        s.commit()
    page = httpx.get(f"{live.url}/complaints/{reference}").text
    assert "已办结" in page and "不予受理：已转12315处理（消费纠纷）" in page
    private(page, officer)


def test_an_unknown_complaint_reference_is_404(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/complaints/JB20261130-NOSUCH").status_code == 404


def test_reading_an_upload_stops_once_a_file_passes_the_limit() -> None:
    """The form reader refuses a file as soon as it grows past the limit: the rest is never read."""
    import asyncio

    from starlette.requests import Request

    from supervision.core.errors import TooLarge
    from supervision.web.uploads import read_files_form

    limit, chunk = 256 * 1024, 16 * 1024
    head = (
        b'--b0undary\r\nContent-Disposition: form-data; name="statement"\r\n\r\n\xe8\xaf\xb4\xe6\x98\x8e\r\n'
        b'--b0undary\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    )
    body = head + b"0" * (4 * limit) + b"\r\n--b0undary--\r\n"
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        part = body[sent : sent + chunk]
        sent += len(part)
        return {"type": "http.request", "body": part, "more_body": sent < len(body)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/portal/notices/1/statement",
        "headers": [(b"content-type", b"multipart/form-data; boundary=b0undary")],
    }

    async def read() -> None:
        await read_files_form(Request(scope, receive), field="files", max_file_bytes=limit, max_files=5)

    with pytest.raises(TooLarge):
        asyncio.run(read())
    assert sent <= len(head) + limit + chunk < len(body)
