"""Demo decisions (演示处理决定): a handful of warnings, rectification orders, licence suspensions, a
revocation, blacklistings and a lift, recorded through the same service staff use, so that after the demo
load every public list has entries and every kind of explanation can be seen.

Institutions are picked deterministically (by credit code order among those that fit), dates are relative to
the business date the clock gives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.cases import service
from supervision.cases.schemas import DecisionIn
from supervision.core.clock import business_date

ACTOR = "system:demo-data"
OFFICER = "演示执法员"


def _pick(session: Session, where: str, n: int, taken: set[str]) -> list[str]:
    rows = session.execute(
        text(
            "SELECT i.uscc FROM institution i LEFT JOIN licence l ON l.institution_id = i.id"
            f" WHERE {where} ORDER BY md5(i.uscc) LIMIT :n"
        ),
        {"n": n + len(taken)},
    ).scalars()
    out = [u for u in rows if u not in taken][:n]
    taken.update(out)
    return out


def record_demo_decisions(engine: Engine, now: dt.datetime) -> int:
    """Record the demo decisions if no decision exists yet; returns how many were recorded."""
    today = business_date(now)

    def day(n: int) -> dt.date:
        return today - dt.timedelta(days=n)

    with Session(engine) as session:
        if session.execute(text("SELECT EXISTS (SELECT 1 FROM decision)")).scalar_one():
            return 0
        taken: set[str] = set()
        operating_valid = "i.status = 'operating' AND l.status = 'valid' AND i.escrow_mode IS NOT NULL"
        subject = f"{operating_valid} AND 'subject' = ANY(i.categories)"
        plans: list[dict[str, Any]] = []
        for uscc, basis, summary, ago in zip(
            _pick(session, subject, 4, taken),
            (
                ["TIME-OFFLINE-LATE"],
                ["FEE-PREPAY-CAP"],
                ["CONDUCT-ADVERTISING"],
                ["CONDUCT-AHEAD-OF-CURRICULUM"],
            ),
            (
                "工作日晚间线下课程结束时间晚于20:30，责令调整课时安排。",
                "销售的预付课包超过60课时或3个月，责令停止销售并退还超额部分。",
                "招生宣传中承诺“保证提分”，责令撤下广告并公开更正。",
                "培训内容超前于学校教学进度，责令按国家课程标准调整。",
            ),
            (40, 25, 12, 5),
            strict=False,
        ):
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "rectification_order",
                    "basis": basis,
                    "summary": summary,
                    "decided_on": day(ago),
                    "deadline": day(ago) + dt.timedelta(days=30),
                }
            )
        for uscc, basis, summary in zip(
            _pick(session, operating_valid, 2, taken),
            (["CONDUCT-REFUND"], ["FEE-ESCROW-SHORTFALL"]),
            (
                "多名家长反映申请退费后超过30日未获退款，经核实属实，暂扣办学许可证。",
                "预收费监管账户余额低于未消课预收费，暂扣办学许可证直至补足。",
            ),
            strict=False,
        ):
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "suspend_licence",
                    "basis": basis,
                    "summary": summary,
                    "decided_on": day(20),
                }
            )
        for uscc in _pick(session, operating_valid, 1, taken):
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "warning",
                    "basis": ["CONDUCT-ADVERTISING"],
                    "summary": "在小区公告栏张贴学科类培训广告，予以警告。",
                    "decided_on": day(15),
                }
            )
        for uscc in _pick(session, "l.id IS NULL", 1, taken):
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "blacklist",
                    "basis": ["LIC-NONE", "CONDUCT-DISGUISED"],
                    "summary": "未取得办学许可证，以“托管”名义在居民楼内开展学科类培训，列入黑名单。",
                    "decided_on": day(50),
                }
            )
        for uscc in _pick(session, operating_valid, 1, taken):
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "revoke_licence",
                    "basis": ["CONDUCT-REFUND", "FEE-NO-ESCROW"],
                    "summary": "拒不退还家长预收费且未将预收费纳入监管，吊销办学许可证。",
                    "decided_on": day(35),
                    "reference_key": "revoked",
                }
            )
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "blacklist",
                    "basis": ["CONDUCT-REFUND"],
                    "summary": "吊销办学许可证后列入黑名单三年。",
                    "decided_on": day(35),
                    "until": day(35) + dt.timedelta(days=3 * 365),
                }
            )
        for uscc in _pick(session, subject, 1, taken):
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "rectification_order",
                    "basis": ["STAFF-SERVING-TEACHER"],
                    "summary": "聘用在职中小学教师授课，责令解除聘用。",
                    "decided_on": day(60),
                    "deadline": day(30),
                    "reference_key": "lifted",
                }
            )
            plans.append(
                {
                    "uscc": uscc,
                    "kind": "lift",
                    "basis": [],
                    "summary": "经复查已解除聘用，整改到位，解除责令整改。",
                    "decided_on": day(28),
                    "lifts_key": "lifted",
                }
            )
        refs: dict[str, str] = {}
        for plan in plans:
            key = plan.pop("reference_key", None)
            lifts_key = plan.pop("lifts_key", None)
            if lifts_key:
                plan["lifts"] = refs[lifts_key]
            out = service.record_decision(
                session, DecisionIn.model_validate(plan), actor=ACTOR, officer=OFFICER, now=now
            )
            if key:
                refs[key] = out.reference
        session.commit()
        return len(plans)
