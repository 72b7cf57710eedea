"""Demo early warnings and the bans' loopholes (演示预警): a few institutions of the demo grids given the
histories the newer rules look for, through the same services the API calls, so that the console and the
dashboard show every one of them.

- a 幼小衔接 class: an offline subject course for preschool children (BAN-PRESCHOOL-SUBJECT);
- a licence first approved in 2019 for non-subject training and widened to primary subject tutoring in 2023
  (BAN-SCOPE-EXTENDED);
- monthly escrow statements (bank custody) for five institutions: one whose receipts surge in the last month
  (RISK-RECEIPTS-SURGE), one paid out ahead of the lessons delivered (RISK-RELEASE-AHEAD), one with a single
  large release (RISK-LARGE-RELEASE), one whose balance barely covers its liability (RISK-COVERAGE-THIN),
  and one silent for the last five months (FEE-STATEMENT-MISSING for each, from its ``escrow.since``);
- two licences expiring within 60 days (LIC-EXPIRING).

Institutions are picked deterministically among those of the demo officers' grids; dates are relative to the
business date of the clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.core.clock import business_date
from supervision.escrow import service as escrow
from supervision.escrow.keys import KeyHolder
from supervision.registry import service as registry

GRIDS = ("石牌", "天河南")
ACTOR = "system:demo-data"


def _period(today: dt.date, months_back: int) -> str:
    """The calendar month ``months_back`` before the month of ``today``, as ``YYYY-MM``."""
    n = today.year * 12 + today.month - 1 - months_back
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def _month_after(period: str, days: int) -> dt.date:
    y, m = map(int, period.split("-"))
    return dt.date(y + m // 12, m % 12 + 1, 1) + dt.timedelta(days=days)


class Books:
    """One institution's supervised account, month by month: a statement whose releases equal the lessons
    delivered (消拨同步) and whose bank balance keeps ``margin`` above the unearned liability, unless told
    otherwise."""

    def __init__(self, liability: int, margin: int) -> None:
        self.liability = liability
        self.balance = liability + margin

    def statement(
        self,
        period: str,
        receipts: list[int],
        *,
        delivered: int,
        releases: int = 4,
        ahead: int = 0,
        one_release: bool = False,
    ) -> dict[str, Any]:
        """The statement of ``period``: ``receipts`` (one line each), lessons worth ``delivered`` fen given,
        released in ``releases`` weekly lines (or one line with ``one_release``), ``ahead`` fen more released
        than delivered."""
        opening = self.balance
        released = delivered + ahead
        parts = [released] if one_release else [released // releases] * (releases - 1)
        if not one_release:
            parts.append(released - sum(parts))
        lines: list[dict[str, Any]] = [
            {
                "date": f"{period}-{3 + 2 * i:02d}",
                "type": "receipt",
                "amount_fen": amount,
                "ref": f"R-{period}-{i + 1}",
                "package_code": "K1",
                "lessons": 20,
                "months": 2,
            }
            for i, amount in enumerate(receipts)
        ]
        lines += [
            {
                "date": f"{period}-{7 * (i + 1):02d}",
                "type": "release",
                "amount_fen": amount,
                "ref": f"X-{period}-{i}",
            }
            for i, amount in enumerate(parts)
        ]
        self.liability += sum(receipts) - delivered
        self.balance = opening + sum(receipts) - released
        return {
            "period": period,
            "mode": "bank_custody",
            "opening_balance_fen": opening,
            "receipts_fen": sum(receipts),
            "released_fen": released,
            "refunds_fen": 0,
            "closing_balance_fen": self.balance,
            "bank_reported_balance_fen": self.balance,
            "reserve_balance_fen": 0,
            "unearned_liability_fen": self.liability,
            "amends": None,
            "lines": lines,
        }


def _candidates(session: Session, n: int, today: dt.date) -> list[tuple[int, str, str]]:
    """(id, credit code, name) of operating institutions of the demo grids licensed for another 90 days, with
    a bank-custody account, no decision and no statement yet, in a fixed pseudo-random order."""
    rows = session.execute(
        text(
            "SELECT i.id, i.uscc, i.name FROM institution i JOIN licence l ON l.institution_id = i.id"
            " WHERE i.grid = ANY(:g) AND i.status = 'operating' AND l.status = 'valid'"
            " AND i.escrow_mode = 'bank_custody' AND l.valid_until > :later"
            " AND NOT EXISTS (SELECT 1 FROM decision d WHERE d.uscc = i.uscc)"
            " AND NOT EXISTS (SELECT 1 FROM escrow_statement s WHERE s.institution_id = i.id)"
            " ORDER BY md5(i.uscc || 'warnings') LIMIT :n"
        ),
        {"g": list(GRIDS), "n": n, "later": today + dt.timedelta(days=90)},
    )
    return [(r[0], r[1], r[2]) for r in rows]


def _save(session: Session, doc: dict[str, Any], now: dt.datetime) -> None:
    registry.save_documents(session, [registry.validate(doc)], actor=ACTOR, now=now)


def _submit(
    session: Session,
    who: tuple[int, str, str],
    statements: list[dict[str, Any]],
    now: dt.datetime,
    jurisdiction: str,
) -> None:
    holder = KeyHolder(who[0], who[1], who[2], 0, "demo")
    for s in statements:
        escrow.accept_statement(
            session,
            holder=holder,
            idempotency_key=f"demo-{who[1]}-{s['period']}",
            data=orjson.dumps(s),
            now=now,
            as_of=_month_after(s["period"], 4),
            jurisdiction=jurisdiction,
        )


def load_demo_warnings(engine: Engine, now: dt.datetime, jurisdiction: str) -> int:
    """Give the demo institutions the histories above; returns how many institutions were changed (none
    when the demo registry has too few candidates or this was done before)."""
    today = business_date(now)
    with Session(engine) as session:
        done = session.execute(
            text("SELECT EXISTS (SELECT 1 FROM escrow_statement WHERE submitted_by LIKE :k)"),
            {"k": "%:key:demo"},
        ).scalar_one()
        if done:
            return 0
        picked = _candidates(session, 9, today)
        if len(picked) < 9:
            return 0
        docs = {uscc: registry.get(session, uscc) for _, uscc, _ in picked}
        silent, surge, ahead, large, thin, preschool, widened, expiring1, expiring2 = picked

        # A 幼小衔接 class: offline subject lessons for preschool children.
        doc = docs[preschool[1]]
        course = {**doc["courses"][0]} if doc["courses"] else None
        if course is not None:
            course.update(
                code="YX1",
                title="幼小衔接拼音识字班",
                category="subject",
                subject="chinese",
                stages=["preschool"],
                mode="offline",
                teacher_codes=[t["code"] for t in doc["teachers"][:1]],
                prepaid_packages=[],
            )
            doc["courses"] = [*doc["courses"], course]
            if doc["licence"]:
                scope = doc["licence"]["scope"]
                for key, value in (("categories", "subject"), ("stages", "preschool")):
                    if value not in scope[key]:
                        scope[key] = [*scope[key], value]
            _save(session, doc, now)

        # A licence first approved in 2019 for non-subject training, widened to primary subject tutoring.
        doc = docs[widened[1]]
        lic = doc["licence"]
        lic["first_approved_on"] = "2019-04-15"
        lic["scope"] = {"categories": ["non_subject", "subject"], "stages": ["primary"], "modes": ["offline"]}
        lic["scope_history"] = [
            {
                "from": "2019-04-15",
                "categories": ["non_subject"],
                "stages": ["primary"],
                "modes": ["offline"],
            },
            {"from": "2023-03-01", **lic["scope"]},
        ]
        lic["issued_on"] = max(lic["issued_on"], "2023-03-01")
        _save(session, doc, now)

        # Licences expiring within 60 days.
        for who, days in ((expiring1, 20), (expiring2, 45)):
            doc = docs[who[1]]
            doc["licence"]["valid_until"] = (today + dt.timedelta(days=days)).isoformat()
            _save(session, doc, now)

        # Monthly statements: six months before the last due one, and the last due one.
        months = (
            [_period(today, k) for k in range(7, 0, -1)]
            if today.day > 10
            else [_period(today, k) for k in range(8, 1, -1)]
        )
        normal = [140_000, 140_000]

        def history(books: Books, last: dict[str, Any] | None = None) -> list[dict[str, Any]]:
            out = [books.statement(p, normal, delivered=250_000) for p in months[:-1]]
            out.append(books.statement(months[-1], **(last or {"receipts": normal, "delivered": 250_000})))
            return out

        for who, statements in (
            (surge, history(Books(1_500_000, 500_000), {"receipts": [140_000] * 9, "delivered": 250_000})),
            (
                ahead,
                history(
                    Books(1_500_000, 500_000), {"receipts": normal, "delivered": 250_000, "ahead": 120_000}
                ),
            ),
            (
                large,
                history(
                    Books(1_500_000, 500_000), {"receipts": normal, "delivered": 250_000, "one_release": True}
                ),
            ),
            (thin, history(Books(1_500_000, 60_000))),
        ):
            doc = docs[who[1]]
            doc["escrow"] = {**doc["escrow"], "since": months[0]}
            _save(session, doc, now)
            _submit(session, who, statements, now, jurisdiction)

        # Silent since five months: its statements stop five periods before the last due one.
        doc = docs[silent[1]]
        doc["escrow"] = {**doc["escrow"], "since": months[0]}
        _save(session, doc, now)
        books = Books(900_000, 300_000)
        _submit(
            session,
            silent,
            [books.statement(p, normal, delivered=250_000) for p in months[:2]],
            now,
            jurisdiction,
        )
        session.commit()
    return len(picked)
