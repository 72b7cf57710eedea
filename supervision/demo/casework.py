"""Demo case work (演示案件): the staff accounts of the demo, cases in every state, complaints awaiting
triage, inspections with evidence, a rectification due this week and a case past its decision deadline, all
made through the same services the console calls, so that the dashboard, "my work" and every list page have
something to show.

Officers ``demo-officer`` and ``demo-officer2`` work the grids 石牌 and 天河南; ``demo-supervisor``
approves and assigns; ``demo-auditor`` reads. All have the password ``demo-password``. Institutions are
picked deterministically among those of the two grids; dates are relative to the clock's business date.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib

from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.accounts import service as accounts
from supervision.accounts.permissions import actor_of
from supervision.cases import casework, inbox, inspections
from supervision.cases import service as cases
from supervision.cases.schemas import (
    CaseOpenIn,
    CaseSource,
    ComplaintIn,
    InspectionAnswerIn,
    InspectionIn,
    ProposalIn,
)
from supervision.core.clock import FixedClock, business_date

PASSWORD = "demo-password"
GRIDS = ("石牌", "天河南")
STAFF = (
    ("demo-officer", "officer", "演示执法员甲", GRIDS),
    ("demo-officer2", "officer", "演示执法员乙", GRIDS),
    ("demo-supervisor", "supervisor", "演示审核人", ()),
    ("demo-auditor", "auditor", "演示督查员", ()),
)


def create_demo_staff(session: Session, now: dt.datetime, jurisdiction: str) -> list[str]:
    """The demo staff accounts, created when missing; returns the usernames created."""
    made: list[str] = []
    for username, role, name, grids in STAFF:
        if accounts.find_user(session, username) is not None:
            continue
        accounts.create_user(
            session,
            username=username,
            password=PASSWORD,
            role=role,
            display_name=name,
            now=now,
            actor="system:demo-data",
            grids=grids,
            jurisdiction=jurisdiction,
        )
        made.append(username)
    return made


def evidence_png(seed: int) -> bytes:
    """A small, valid PNG (a coloured 8×8 square) to stand for a photo taken on site."""
    width = height = 8
    rgb = bytes(((seed * 53) % 256, (seed * 97) % 256, 160))
    raw = b"".join(b"\x00" + rgb * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _institutions_in(session: Session, grids: tuple[str, ...], n: int) -> list[str]:
    """Operating, licensed institutions of ``grids``, in a fixed pseudo-random order."""
    rows = session.execute(
        text(
            "SELECT i.uscc FROM institution i JOIN licence l ON l.institution_id = i.id"
            " WHERE i.grid = ANY(:g) AND i.status = 'operating' AND l.status = 'valid'"
            " AND NOT EXISTS (SELECT 1 FROM decision d WHERE d.uscc = i.uscc)"
            " ORDER BY md5(i.uscc) LIMIT :n"
        ),
        {"g": list(grids), "n": n},
    ).scalars()
    return list(rows)


def _case_count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM enforcement_case")).scalar_one())


def load_demo_casework(engine: Engine, now: dt.datetime, jurisdiction: str) -> int:
    """Cases, complaints and inspections for the demo, once (nothing when a case exists already); returns
    how many cases were opened."""
    today = business_date(now)

    def at(days_ago: int) -> dt.datetime:
        return FixedClock.on(today - dt.timedelta(days=days_ago), hour=10).now()

    with Session(engine) as session:
        if _case_count(session):
            return 0
        create_demo_staff(session, now, jurisdiction)
        session.flush()
        officer, officer2, supervisor = (
            actor_of(u)
            for u in (
                accounts.find_user(session, "demo-officer"),
                accounts.find_user(session, "demo-officer2"),
                accounts.find_user(session, "demo-supervisor"),
            )
            if u is not None
        )
        pool = iter(_institutions_in(session, GRIDS, 40))

        def open_one(source: CaseSource, summary: str, basis: list[str], days_ago: int) -> str:
            uscc = next(pool)
            case = casework.open_case(
                session,
                CaseOpenIn(source=source, uscc=uscc, basis=basis, summary=summary),
                officer,
                now=at(days_ago),
                jurisdiction=jurisdiction,
            )
            return case.reference

        def v(ref: str) -> int:
            return casework.get_case(session, ref).version

        # new: opened yesterday from a finding, waiting for a supervisor to assign it
        open_one("finding", "晚间线下学科类课程结束时间晚于20:30。", ["TIME-OFFLINE-LATE"], 1)
        # assigned
        ref = open_one("manual", "巡查发现门口张贴“保证提分”广告。", ["CONDUCT-ADVERTISING"], 4)
        casework.assign(session, ref, "demo-officer", supervisor, version=v(ref), now=at(3))
        # investigating, and one past its 90-day decision deadline (overdue)
        ref = open_one("complaint", "家长反映退费申请超过30日未处理。", ["CONDUCT-REFUND"], 6)
        casework.start(session, ref, officer, version=v(ref), now=at(5))
        ref = open_one("finding", "预付课包超过60课时。", ["FEE-PREPAY-CAP"], 100)
        casework.start(session, ref, officer, version=v(ref), now=at(99))
        # proposed: a warning awaiting a second officer
        ref = open_one("inspection", "培训场所未公示收费项目和退费办法。", ["CONDUCT-REFUND"], 12)
        casework.start(session, ref, officer, version=v(ref), now=at(11))
        warning = ProposalIn(
            kind="warning", basis=["CONDUCT-REFUND"], summary="未公示收费及退费办法，予以警告。"
        )
        casework.propose(session, ref, warning, officer, version=v(ref), now=at(2))
        # notified: a blacklisting served on the institution, its statement period still open
        ref = open_one("manual", "以“托管”名义在居民楼内开展学科类培训。", ["CONDUCT-DISGUISED"], 20)
        casework.start(session, ref, officer, version=v(ref), now=at(19))
        blacklist = ProposalIn(
            kind="blacklist", basis=["CONDUCT-DISGUISED"], summary="隐形变异开展学科类培训，拟列入黑名单。"
        )
        casework.propose(session, ref, blacklist, officer, version=v(ref), now=at(3))
        casework.approve(
            session,
            ref,
            supervisor,
            version=casework.get_case(session, ref).version,
            now=at(1),
            jurisdiction=jurisdiction,
        )
        # decided (a warning, no deadline) and closed
        for closed in (False, True):
            ref = open_one("finding", "线上课程单课时超过30分钟。", ["TIME-ONLINE-LESSON"], 30)
            casework.start(session, ref, officer, version=v(ref), now=at(29))
            warn = ProposalIn(
                kind="warning", basis=["TIME-ONLINE-LESSON"], summary="线上课程课时超标，予以警告。"
            )
            casework.propose(session, ref, warn, officer, version=v(ref), now=at(25))
            casework.approve(
                session,
                ref,
                officer2,
                version=casework.get_case(session, ref).version,
                now=at(24),
                jurisdiction=jurisdiction,
            )
            if closed:
                casework.close(
                    session, ref, None, officer, version=v(ref), now=at(20), jurisdiction=jurisdiction
                )
        # rectifying: one order due this week, one whose deadline passed yesterday (the follow-up moves it)
        for deadline_in in (3, -1):
            ref = open_one("finding", "周末开展义务教育阶段学科类培训。", ["TIME-SUBJECT-RESTDAY"], 40)
            casework.start(session, ref, officer, version=v(ref), now=at(39))
            order = ProposalIn(
                kind="rectification_order",
                basis=["TIME-SUBJECT-RESTDAY"],
                summary="责令停止周末学科类培训并调整课表。",
                deadline=today + dt.timedelta(days=deadline_in),
            )
            casework.propose(session, ref, order, officer, version=v(ref), now=at(30))
            casework.approve(
                session,
                ref,
                officer2,
                version=casework.get_case(session, ref).version,
                now=at(30),
                jurisdiction=jurisdiction,
            )
        casework.follow_up(session, today, now=now, jurisdiction=jurisdiction)
        # dismissed (asked by the officer, confirmed by the supervisor) and merged
        ref = open_one("complaint", "举报称某机构周末上课，核查为体育类培训。", ["TIME-SUBJECT-RESTDAY"], 15)
        casework.start(session, ref, officer, version=v(ref), now=at(14))
        reason = "经核查为非学科类体育培训，不属于违规。"
        casework.dismiss(session, ref, reason, officer, version=v(ref), now=at(10))
        casework.dismiss(session, ref, reason, supervisor, version=v(ref), now=at(9))
        first = open_one("complaint", "家长举报机构超前教学。", ["CONDUCT-AHEAD-OF-CURRICULUM"], 8)
        uscc = casework.get_case(session, first).uscc
        duplicate = casework.open_case(
            session,
            CaseOpenIn(
                source="complaint",
                uscc=uscc,
                basis=["CONDUCT-AHEAD-OF-CURRICULUM"],
                summary="同一事项的第二件举报。",
            ),
            officer,
            now=at(7),
            jurisdiction=jurisdiction,
        )
        casework.merge(
            session,
            duplicate.reference,
            first,
            "同一机构同一事项，合并办理。",
            supervisor,
            version=duplicate.version,
            now=at(6),
        )

        # complaints awaiting triage (one past its triage deadline) and one unmatched
        for days_ago, text_ in (
            (1, "该机构在工作日晚上九点后仍在上数学课，孩子很晚才回家。"),
            (2, "机构要求一次性缴纳一年学费，说不交就没有名额。"),
            (9, "机构老师是附近小学的在职教师，在课上推销课程。"),
        ):
            cases.file_complaint(
                session,
                ComplaintIn(uscc=next(pool), text=text_, contact="138****0000"),
                now=at(days_ago),
                jurisdiction=jurisdiction,
            )
        cases.file_complaint(
            session,
            ComplaintIn(
                institution_name="天河某小区内无牌补习班", text="小区3栋一楼住宅内每天有学生补习语文数学。"
            ),
            now=at(2),
            jurisdiction=jurisdiction,
        )
        rejected = cases.file_complaint(
            session,
            ComplaintIn(uscc=next(pool), text="购买的文具质量差，要求退货退款，机构不同意。"),
            now=at(5),
            jurisdiction=jurisdiction,
        )
        inbox.triage_reject(session, rejected, "消费纠纷，已转12315处理。", officer, now=at(4))

        # inspections: one clean, one with a failed item that opened a case; each with a photo
        items = [i.code for i in inspections.checklist()]
        for n, failed in enumerate((None, "advertising_truthful")):
            answers = [
                InspectionAnswerIn(
                    code=c,
                    result="fail" if c == failed else "pass",
                    note="门口展架宣传“保证提分”" if c == failed else None,
                )
                for c in items
            ]
            record = inspections.record_inspection(
                session,
                InspectionIn(
                    uscc=next(pool),
                    inspected_on=today - dt.timedelta(days=10 + n),
                    officers=["demo-officer", "demo-officer2"],
                    items=answers,
                    note="现场检查，机构负责人在场。",
                ),
                officer,
                now=at(10 + n),
                jurisdiction=jurisdiction,
            )
            inspections.attach_file(
                session,
                "inspection",
                record.id or 0,
                f"现场照片{n + 1}.png",
                evidence_png(n),
                officer,
                now=at(10 + n),
            )
        opened = _case_count(session)
        session.commit()
        return opened
