"""Fees, prepaid money and escrow (收费与预收费监管). Money is integer fen; every comparison is exact."""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rules.catalogue import rule
from rules.model import COMPULSORY
from rules.parameters import PriceTable
from rules.text import course_en, course_zh, yuan

if TYPE_CHECKING:
    from rules.engine import Context, Inspection

PREPAY_NOTICE = dt.date(2021, 10, 29)
"""教监管函〔2021〕2号 (published late October 2021; the exact day of issue is not confirmed)."""
PRICING_NOTICE = dt.date(2021, 9, 1)
"""发改价格〔2021〕1279号 (September 2021)."""

_LIMITS = ("prepay.max_lessons", "prepay.max_months", "prepay.max_fen")


def _prepay_breaches(
    values: Mapping[str, Any], lessons: int | None, months: int | None, amount: int
) -> list[tuple[str, str, str]]:
    """The limits a prepaid charge breaks, each as (Chinese, English, comparison)."""
    out: list[tuple[str, str, str]] = []
    most = values.get("prepay.max_lessons")
    if most is not None and lessons is not None and lessons > most:
        out.append(
            (f"课时数{lessons}节超过{most}节", f"{lessons} lessons exceed {most}", f"{lessons} > {most}")
        )
    most = values.get("prepay.max_months")
    if most is not None and months is not None and months > most:
        out.append(
            (f"时间跨度{months}个月超过{most}个月", f"{months} months exceed {most}", f"{months} > {most}")
        )
    most = values.get("prepay.max_fen")
    if most is not None and amount > most:
        out.append(
            (
                f"金额{yuan(amount)}元超过{yuan(most)}元",
                f"{yuan(amount)} yuan exceeds {yuan(most)} yuan",
                f"{amount} fen > {most} fen",
            )
        )
    return out


@rule(
    "FEE-PREPAY-CAP",
    severity="major",
    area="fees",
    title=("预收费超过上限", "Prepaid charge over the limit"),
    description=(
        "不得一次性收取或以充值、次卡等形式变相收取时间跨度超过{prepay.max_months}个月或"
        "{prepay.max_lessons}课时的费用，且金额不得超过{prepay.max_fen}。"
        "课程套餐按评估日的上限检查；资金监管报表的每笔收款按收款当日有效的上限检查。",
        "No single prepaid charge (including top-ups and lesson cards) may cover more than "
        "{prepay.max_months} months or {prepay.max_lessons} lessons, or exceed {prepay.max_fen}. "
        "Packages are judged by the limits in force on the evaluation date, each receipt of a statement by "
        "the limits in force on the day it was received.",
    ),
    legal_basis="教监管函〔2021〕2号 (3 months / 60 lessons); 教监管〔2022〕4号 (and at most 5,000 yuan)",
    optional_parameters=_LIMITS,
    effective_from=PREPAY_NOTICE,
    version=2,
)
def prepay_cap(ins: Inspection) -> None:
    """预收费上限: each package (limits on ``as_of``) and each receipt line (limits on the line's own
    ``date``: a receipt dated before a limit took effect is not judged by it) within 60 lessons, 3 months
    and 5,000 yuan."""
    ctx = ins.ctx
    values = ctx.values
    in_force = [name for name in _LIMITS if name in values]
    for course in ins.doc["courses"] if in_force else ():
        for package in course.get("prepaid_packages") or ():
            breaches = _prepay_breaches(values, package["lessons"], package["months"], package["price_fen"])
            if breaches:
                subject = f"{course['code']}/{package['code']}"
                ins.report(
                    "FEE-PREPAY-CAP",
                    subject,
                    f"{course_zh(course)}的预收费套餐{package['code']}超出上限："
                    + "；".join(b[0] for b in breaches),
                    f"{course_en(course)}, prepaid package {package['code']} breaks the limits: "
                    + "; ".join(b[1] for b in breaches),
                    {
                        f"courses[{course['code']}].prepaid_packages[{package['code']}]": {
                            "lessons": package["lessons"],
                            "months": package["months"],
                            "price_fen": package["price_fen"],
                        }
                    },
                    "; ".join(b[2] for b in breaches),
                    in_force,
                )
    # A statement has tens of thousands of receipts on a few dozen days: the limits of each day are looked up
    # once, and a receipt within them costs three comparisons.
    limits_on: dict[str, tuple[dt.date, Mapping[str, Any], tuple[float, float, float]]] = {}
    unlimited = float("inf")
    for statement in ins.statements or ():
        period = statement["period"]
        for line in statement["lines"]:
            if line["type"] != "receipt":
                continue
            lessons, months, amount = line.get("lessons"), line.get("months"), line["amount_fen"]
            hit = limits_on.get(line["date"])
            if hit is None:
                first = dt.date.fromisoformat(line["date"])
                values_then, _ = ctx.values_on(first)
                most = tuple(values_then.get(name, unlimited) for name in _LIMITS)
                hit = limits_on[line["date"]] = (first, values_then, (most[0], most[1], most[2]))
            day, on_day, (most_lessons, most_months, most_fen) = hit
            if (
                amount <= most_fen
                and (lessons is None or lessons <= most_lessons)
                and (months is None or months <= most_months)
            ):
                continue
            breaches = _prepay_breaches(on_day, lessons, months, amount)
            if breaches:
                ref = line["ref"]
                ins.report(
                    "FEE-PREPAY-CAP",
                    f"{period}/{ref}",
                    f"{period}资金监管报表的收款{ref}（{line['date']}）超出预收费上限："
                    + "；".join(b[0] for b in breaches),
                    f"Receipt {ref} ({line['date']}) in the {period} statement breaks the prepaid limits: "
                    + "; ".join(b[1] for b in breaches),
                    {
                        f"statements[{period}].lines[{ref}]": {
                            "date": line["date"],
                            "amount_fen": amount,
                            "lessons": lessons,
                            "months": months,
                            "package_code": line.get("package_code"),
                        }
                    },
                    "; ".join(b[2] for b in breaches) + f" (limits in force on {line['date']})",
                    [name for name in _LIMITS if name in on_day],
                    on=day,
                )


def _band(bands: tuple[tuple[int | None, int], ...], size: int) -> tuple[int | None, int]:
    for band in bands:
        if band[0] is None or size <= band[0]:
            return band
    return bands[-1]


@rule(
    "FEE-PRICE-CAP",
    severity="major",
    area="fees",
    title=("学科类培训收费超过政府指导价", "Fee above the guided price"),
    description=(
        "义务教育阶段学科类培训实行政府指导价，每课时收费不得超过按课时长度折算的基准价上浮"
        "{price.max_float_up_pct}%。",
        "Subject training for primary and junior students is under government guided prices: a lesson may "
        "cost at most the base price, pro rata to its length, plus {price.max_float_up_pct}%.",
    ),
    legal_basis="发改价格〔2021〕1279号; local price tables",
    parameters=("price.base_fen", "price.standard_minutes", "price.max_float_up_pct"),
    effective_from=PRICING_NOTICE,
)
def price_cap(ins: Inspection) -> None:
    """政府指导价: price × std × 100 > base × minutes × (100 + float) breaks the cap."""
    values = ins.ctx.values
    table: PriceTable = values["price.base_fen"]
    standard: dict[str, int] = values["price.standard_minutes"]
    pct: int = values["price.max_float_up_pct"]
    for course in ins.doc["courses"]:
        if course["category"] != "subject" or not any(s in COMPULSORY for s in course["stages"]):
            continue
        mode = course["mode"]
        bands = table.get(mode)
        std = standard.get(mode)
        if bands is None or std is None:
            continue
        size = course["class_size_max"]
        band_max, base = _band(bands, size)
        price, minutes = course["price_per_lesson_fen"], course["lesson_minutes"]
        charged = price * std * 100
        allowed = base * minutes * (100 + pct)
        if charged <= allowed:
            continue
        code = course["code"]
        ceiling = allowed // (std * 100)
        exact = "" if allowed % (std * 100) == 0 else "约"
        band_zh = f"{band_max}人及以下" if band_max is not None else "大班"
        mode_zh = "线下" if mode == "offline" else "线上"
        ins.report(
            "FEE-PRICE-CAP",
            code,
            f"{course_zh(course)}每课时（{minutes}分钟）收费{yuan(price)}元，"
            f"超过政府指导价上限{exact}{yuan(ceiling)}元"
            f"（{mode_zh}班额{size}人的基准价{yuan(base)}元/{std}分钟，上浮{pct}%）",
            f"{course_en(course)} charges {yuan(price)} yuan per {minutes}-minute lesson, above the guided "
            f"cap of {'about ' if exact else ''}{yuan(ceiling)} yuan (base {yuan(base)} yuan per {std} "
            f"minutes, {mode}, class of {size}, plus {pct}%)",
            {
                f"courses[{code}].mode": mode,
                f"courses[{code}].class_size_max": size,
                f"courses[{code}].lesson_minutes": minutes,
                f"courses[{code}].price_per_lesson_fen": price,
                "price band": band_zh,
                "base_fen": base,
                "standard_minutes": std,
            },
            f"{price} × {std} × 100 = {charged} > {base} × {minutes} × (100 + {pct}) = {allowed} is true",
        )


def _has_packages(doc: Mapping[str, Any]) -> bool:
    return any(course.get("prepaid_packages") for course in doc["courses"])


def _has_account(doc: Mapping[str, Any]) -> bool:
    escrow = doc.get("escrow")
    return escrow is not None and escrow.get("mode") is not None


@rule(
    "FEE-NO-ESCROW",
    severity="critical",
    area="fees",
    title=("预收费未纳入资金监管", "Prepaid money not under supervision"),
    description=(
        "机构收取预收费，但没有开立受监管的预收费专用账户（银行托管或风险保证金）。",
        "The institution takes prepaid money but has no supervised account (bank custody or risk reserve).",
    ),
    legal_basis="教监管函〔2021〕2号 (all prepaid money supervised)",
    effective_from=PREPAY_NOTICE,
)
def no_escrow(ins: Inspection) -> None:
    """预收费资金监管: prepaid packages or receipts without a supervised account."""
    doc = ins.doc
    if _has_account(doc):
        return
    packages = sorted(
        f"{c['code']}/{k['code']}" for c in doc["courses"] for k in c.get("prepaid_packages") or ()
    )
    receipts = sorted(
        s["period"]
        for s in ins.statements or ()
        if s.get("receipts_fen") or any(line["type"] == "receipt" for line in s["lines"])
    )
    if not packages and not receipts:
        return
    zh = []
    en = []
    if packages:
        zh.append(f"提供预收费套餐{'、'.join(packages)}")
        en.append(f"offers prepaid packages {', '.join(packages)}")
    if receipts:
        zh.append(f"在{'、'.join(receipts)}报告了预收款")
        en.append(f"reported receipts in {', '.join(receipts)}")
    ins.report(
        "FEE-NO-ESCROW",
        "institution",
        f"机构{'，并'.join(zh)}，但没有受监管的预收费专用账户",
        f"The institution {' and '.join(en)} but has no supervised account",
        {"escrow.mode": None, "prepaid_packages": packages, "statements with receipts": receipts},
        "escrow.mode is null and (packages or receipts) exist",
    )


@rule(
    "FEE-ESCROW-SHORTFALL",
    severity="critical",
    area="fees",
    title=("监管资金不足", "Supervised money short of the liability"),
    description=(
        "最近一期资金监管报表中，受监管的资金（银行托管余额或风险保证金余额）低于未消课预收费的"
        "{escrow.coverage_pct}%。",
        "In the latest statement the supervised money (bank custody balance or risk reserve) is below "
        "{escrow.coverage_pct}% of the prepaid money for lessons not yet given.",
    ),
    legal_basis="教监管函〔2021〕2号; 穗教规字〔2021〕8号",
    parameters=("escrow.coverage_pct",),
    optional_parameters=("escrow.reserve_min_fen",),
    effective_from=PREPAY_NOTICE,
)
def escrow_shortfall(ins: Inspection) -> None:
    """监管资金覆盖: the latest statement's supervised money covers the unearned liability."""
    if not ins.statements:
        return
    latest = ins.statements[-1]
    mode = latest["mode"]
    if mode not in ("bank_custody", "risk_reserve"):
        return
    values = ins.ctx.values
    supervised = latest["bank_reported_balance_fen" if mode == "bank_custody" else "reserve_balance_fen"] or 0
    liability, pct = latest["unearned_liability_fen"], values["escrow.coverage_pct"]
    below_coverage = supervised * 100 < liability * pct
    below_minimum = mode == "risk_reserve" and supervised < values.get("escrow.reserve_min_fen", 0)
    if not below_coverage and not below_minimum:
        return
    need = ins.ctx.reserve_requirement(latest)
    period = latest["period"]
    what_zh = "银行托管账户余额" if mode == "bank_custody" else "风险保证金余额"
    what_en = "bank custody balance" if mode == "bank_custody" else "risk reserve balance"
    comparisons = [
        f"{supervised} × 100 = {supervised * 100} < {liability} × {pct} = {liability * pct} is "
        f"{str(below_coverage).lower()}"
    ]
    if mode == "risk_reserve" and need["reserve_min_fen"]:
        comparisons.append(f"{supervised} < {need['reserve_min_fen']} is {str(below_minimum).lower()}")
    ins.report(
        "FEE-ESCROW-SHORTFALL",
        period,
        f"{period}资金监管报表的{what_zh}{yuan(supervised)}元，低于应监管金额{yuan(need['required_fen'])}元"
        f"（未消课预收费{yuan(liability)}元的{pct}%"
        + (f"，且不少于{yuan(need['reserve_min_fen'])}元" if need["reserve_min_fen"] else "")
        + f"），差额{yuan(need['shortfall_fen'])}元",
        f"The {period} statement's {what_en} of {yuan(supervised)} yuan is below the required "
        f"{yuan(need['required_fen'])} yuan ({pct}% of the {yuan(liability)} yuan unearned liability"
        + (f", at least {yuan(need['reserve_min_fen'])} yuan" if need["reserve_min_fen"] else "")
        + f"); short by {yuan(need['shortfall_fen'])} yuan",
        {
            f"statements[{period}].mode": mode,
            f"statements[{period}].{need['supervised_field']}": supervised,
            f"statements[{period}].unearned_liability_fen": liability,
            "required_fen": need["required_fen"],
        },
        "; ".join(comparisons),
        [p["name"] for p in need["parameters"]],
    )


def _due_month(ctx: Context) -> tuple[str, dt.date]:
    """The last month whose statement deadline is before ``as_of``, and that deadline."""
    cached = ctx.cache.get("statement-due")
    if cached is None:
        due_day: int = ctx.values["statement.due_day"]
        as_of = ctx.as_of
        deadline = dt.date(
            as_of.year, as_of.month, min(due_day, _calendar.monthrange(as_of.year, as_of.month)[1])
        )
        first = as_of.replace(day=1)
        month_end = first - dt.timedelta(days=1)  # last day of the previous month
        if not deadline < as_of:
            deadline = month_end.replace(day=min(due_day, month_end.day))
            month_end = month_end.replace(day=1) - dt.timedelta(days=1)
        cached = (f"{month_end.year:04d}-{month_end.month:02d}", deadline)
        ctx.cache["statement-due"] = cached
    result: tuple[str, dt.date] = cached
    return result


@functools.lru_cache(maxsize=4096)
def month_index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


@functools.lru_cache(maxsize=4096)
def period_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@rule(
    "FEE-STATEMENT-MISSING",
    severity="major",
    area="fees",
    title=("未按时报送资金监管报表", "Escrow statement not filed on time"),
    description=(
        "有预收费或受监管账户的机构，应在每月{statement.due_day}日（含）前报送上月的资金监管报表。"
        "自资金纳入监管的月份（或最早一期报表）起，每个逾期未报的月份各记一条，最多列出最近"
        "{statement.max_lookback_months}个月。",
        "An institution with prepaid money or a supervised account files each month's statement by day "
        "{statement.due_day} of the following month. Every overdue month since its money came under "
        "supervision (or since its earliest statement) is one finding, at most the last "
        "{statement.max_lookback_months} months.",
    ),
    legal_basis="local fund-supervision rules",
    parameters=("statement.due_day",),
    optional_parameters=("statement.max_lookback_months",),
    effective_from=PREPAY_NOTICE,
    version=2,
)
def statement_missing(ins: Inspection) -> None:
    """资金监管报表逾期: every month past its deadline without an accepted statement, counted from the month
    of ``escrow.since`` (else the earliest accepted statement; with neither, only the last month due), at
    most ``statement.max_lookback_months`` months: the last one due and those before it."""
    if ins.statements is None:
        return
    doc = ins.doc
    account, packages = _has_account(doc), _has_packages(doc)
    if not account and not packages:
        return
    ctx = ins.ctx
    last, deadline = _due_month(ctx)
    last_index = month_index(last)
    since = (doc.get("escrow") or {}).get("since")
    filed = {s["period"] for s in ins.statements}
    if since:
        first_index, counted_from = month_index(since), f"escrow.since = {since}"
    elif ins.statements:
        earliest = ins.statements[0]["period"]
        first_index, counted_from = month_index(earliest), f"earliest accepted statement {earliest}"
    else:
        first_index, counted_from = last_index, "no escrow.since and no statement: the last period due only"
    lookback: int | None = ctx.values.get("statement.max_lookback_months")
    # without a look-back in force, only the last period due is checked
    first_index = max(first_index, last_index - lookback + 1) if lookback is not None else last_index
    missing = [p for p in map(period_name, range(first_index, last_index + 1)) if p not in filed]
    if not missing:
        return
    as_of = ctx.as_of.isoformat()
    due_day: int = ctx.values["statement.due_day"]
    facts = {
        "escrow.mode": (doc.get("escrow") or {}).get("mode"),
        "escrow.since": since,
        "has prepaid packages": packages,
        "accepted statement periods": sorted(filed),
        "as_of": as_of,
    }
    window = (
        f"periods {period_name(first_index)} to {last} checked ({counted_from}"
        + (f"; at most {lookback} periods" if lookback is not None else "")
        + ")"
    )
    for period in missing:
        due = deadline if period == last else _deadline(period, due_day)
        ins.report(
            "FEE-STATEMENT-MISSING",
            period,
            f"{period}的资金监管报表应于{due.isoformat()}（含）前报送，截至{as_of}仍未报送",
            f"The statement for {period} was due by {due.isoformat()} and has not been filed by {as_of}",
            facts,
            f"deadline {due.isoformat()} < {as_of} is true and no accepted statement for {period}; {window}",
        )


def _deadline(period: str, due_day: int) -> dt.date:
    """Day ``due_day`` (or the month's last day) of the month after ``period``."""
    index = month_index(period) + 1
    year, month = index // 12, index % 12 + 1
    return dt.date(year, month, min(due_day, _calendar.monthrange(year, month)[1]))


@functools.lru_cache(maxsize=4096)
def _previous_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


@rule(
    "FEE-BALANCE-BREAK",
    severity="major",
    area="fees",
    title=("资金监管报表前后不衔接", "Statement does not join up"),
    description=(
        "资金监管报表的期初余额与上期期末余额不一致，或银行托管账户的银行余额与报表期末余额不一致。"
        "差一分钱也算。",
        "A statement's opening balance differs from the previous month's closing balance, or, for bank "
        "custody, the bank's balance differs from the closing balance. To the fen.",
    ),
    legal_basis="reconciliation",
    effective_from=PREPAY_NOTICE,
)
def balance_break(ins: Inspection) -> None:
    """对账不符: opening = previous closing; bank-reported = closing for bank custody."""
    statements = ins.statements
    if not statements:
        return
    by_period = {s["period"]: s for s in statements}
    for statement in statements:
        period = statement["period"]
        zh: list[str] = []
        en: list[str] = []
        cmp: list[str] = []
        facts: dict[str, Any] = {}
        previous = by_period.get(_previous_month(period))
        opening, closing = statement["opening_balance_fen"], statement["closing_balance_fen"]
        if previous is not None and opening != previous["closing_balance_fen"]:
            before = previous["closing_balance_fen"]
            zh.append(f"期初余额{yuan(opening)}元与{previous['period']}期末余额{yuan(before)}元不一致")
            en.append(
                f"opening balance {yuan(opening)} yuan differs from the {previous['period']} "
                f"closing {yuan(before)} yuan"
            )
            cmp.append(f"{opening} != {before}")
            facts[f"statements[{period}].opening_balance_fen"] = opening
            facts[f"statements[{previous['period']}].closing_balance_fen"] = before
        if statement["mode"] == "bank_custody":
            bank = statement.get("bank_reported_balance_fen")
            if bank is not None and bank != closing:
                zh.append(f"银行托管余额{yuan(bank)}元与期末余额{yuan(closing)}元不一致")
                en.append(
                    f"bank-reported balance {yuan(bank)} yuan differs from the closing {yuan(closing)} yuan"
                )
                cmp.append(f"{bank} != {closing}")
                facts[f"statements[{period}].bank_reported_balance_fen"] = bank
                facts[f"statements[{period}].closing_balance_fen"] = closing
        if zh:
            ins.report(
                "FEE-BALANCE-BREAK",
                period,
                f"{period}资金监管报表不衔接：{'；'.join(zh)}",
                f"The {period} statement does not join up: {'; '.join(en)}",
                facts,
                "; ".join(cmp),
            )
