"""Early warning on prepaid money (预收费风险预警): warnings before money is lost, after Zhejiang's yellow and
red tiers. Each rule reads the latest accepted statement (the one for the latest period up to ``as_of``) and
the ones before it. Money is integer fen; every comparison is exact.

RISK-LARGE-RELEASE reads the ``release`` and ``refund`` lines of the latest statement, so the statement must
be passed with its lines; the other rules read the summary fields only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rules.catalogue import rule
from rules.checks.fees import month_index, period_name
from rules.text import yuan

if TYPE_CHECKING:
    from rules.engine import Inspection

PREPAY_NOTICE = dt.date(2021, 10, 29)
"""教监管函〔2021〕2号, which asks for 风险管控 of prepaid money (its exact day of issue is not confirmed)."""
SURGE_MONTHS = 6
"""RISK-RECEIPTS-SURGE compares the latest month with the accepted statements of the 6 months before it."""
SURGE_MIN_MONTHS = 3
"""…and only when at least 3 of those months have one."""

_MODES = ("bank_custody", "risk_reserve")


def _latest(ins: Inspection) -> Mapping[str, Any] | None:
    return ins.statements[-1] if ins.statements else None


def _supervised(statement: Mapping[str, Any]) -> tuple[str, int]:
    field = "bank_reported_balance_fen" if statement["mode"] == "bank_custody" else "reserve_balance_fen"
    return field, int(statement.get(field) or 0)


@rule(
    "RISK-COVERAGE-THIN",
    severity="minor",
    area="risk",
    title=("监管资金余额偏低（黄色预警）", "Supervised money running thin (yellow warning)"),
    description=(
        "最近一期资金监管报表的受监管资金虽不低于未消课预收费的{escrow.coverage_pct}%，"
        "但低于{escrow.coverage_pct}%再加{risk.coverage_margin_pct}个百分点，资金缓冲不足。",
        "The latest statement's supervised money is not short of {escrow.coverage_pct}% of the unearned "
        "prepaid money, but it is below {escrow.coverage_pct}% plus {risk.coverage_margin_pct} points: "
        "there is little margin left.",
    ),
    legal_basis="Zhejiang yellow warning (balance below a preset value); 教监管函〔2021〕2号 (风险管控)",
    parameters=("escrow.coverage_pct", "risk.coverage_margin_pct"),
    optional_parameters=("escrow.reserve_min_fen",),
    effective_from=PREPAY_NOTICE,
)
def coverage_thin(ins: Inspection) -> None:
    """监管资金偏低: not short (FEE-ESCROW-SHORTFALL silent) but supervised × 100 < liability × (pct +
    margin)."""
    latest = _latest(ins)
    if latest is None or latest["mode"] not in _MODES:
        return
    values = ins.ctx.values
    field, supervised = _supervised(latest)
    liability = int(latest["unearned_liability_fen"])
    pct: int = values["escrow.coverage_pct"]
    margin: int = values["risk.coverage_margin_pct"]
    minimum = int(values.get("escrow.reserve_min_fen", 0)) if latest["mode"] == "risk_reserve" else 0
    if supervised * 100 < liability * pct or supervised < minimum:
        return  # short: FEE-ESCROW-SHORTFALL reports it
    if not supervised * 100 < liability * (pct + margin):
        return
    period = latest["period"]
    ins.report(
        "RISK-COVERAGE-THIN",
        period,
        f"{period}资金监管报表的受监管资金{yuan(supervised)}元，低于未消课预收费{yuan(liability)}元的"
        f"{pct + margin}%（监管比例{pct}%加预警余量{margin}个百分点），资金缓冲不足",
        f"The {period} statement's supervised money of {yuan(supervised)} yuan is below {pct + margin}% of "
        f"the {yuan(liability)} yuan unearned liability ({pct}% required plus a {margin}-point margin)",
        {
            f"statements[{period}].mode": latest["mode"],
            f"statements[{period}].{field}": supervised,
            f"statements[{period}].unearned_liability_fen": liability,
        },
        f"{supervised} × 100 = {supervised * 100} >= {liability} × {pct} = {liability * pct} (not short); "
        f"{supervised} × 100 = {supervised * 100} < {liability} × ({pct} + {margin}) = "
        f"{liability * (pct + margin)} is true",
    )


@rule(
    "RISK-RECEIPTS-SURGE",
    severity="major",
    area="risk",
    title=("预收费收入激增", "Surge of prepaid receipts"),
    description=(
        "最近一期的预收款超过此前6个月（至少3个月有报表）月均预收款的{risk.surge_factor}倍。"
        "集中大量预收费常是机构关门跑路的先兆。",
        "The latest month's prepaid receipts exceed {risk.surge_factor} times the monthly average of the 6 "
        "months before it (at least 3 of them with a statement): a rush of prepaid sales is the usual sign "
        "before an institution closes and keeps the money.",
    ),
    legal_basis="教监管函〔2021〕2号 (风险管控)",
    parameters=("risk.surge_factor",),
    effective_from=PREPAY_NOTICE,
)
def receipts_surge(ins: Inspection) -> None:
    """预收款激增: receipts × n > factor × S over the n (>= 3) statements of the 6 months before."""
    latest = _latest(ins)
    if latest is None:
        return
    assert ins.statements is not None
    period = latest["period"]
    index = month_index(period)
    window = {period_name(i) for i in range(index - SURGE_MONTHS, index)}
    before = [s for s in ins.statements if s["period"] in window]
    n = len(before)
    if n < SURGE_MIN_MONTHS:
        return
    total = sum(int(s["receipts_fen"]) for s in before)
    receipts = int(latest["receipts_fen"])
    factor: int = ins.ctx.values["risk.surge_factor"]
    if not receipts * n > factor * total:
        return
    ins.report(
        "RISK-RECEIPTS-SURGE",
        period,
        f"{period}预收款{yuan(receipts)}元，超过此前{n}个月月均预收款的{factor}倍（合计{yuan(total)}元）",
        f"Receipts of {yuan(receipts)} yuan in {period} exceed {factor} times the monthly average of the "
        f"{n} months before it with a statement ({yuan(total)} yuan in all)",
        {
            f"statements[{period}].receipts_fen": receipts,
            **{f"statements[{s['period']}].receipts_fen": int(s["receipts_fen"]) for s in before},
        },
        f"n = {n} >= {SURGE_MIN_MONTHS}; {receipts} × {n} = {receipts * n} > {factor} × {total} = "
        f"{factor * total} is true",
    )


@rule(
    "RISK-RELEASE-AHEAD",
    severity="major",
    area="risk",
    title=("资金拨付超过消课进度", "Money released ahead of lessons given"),
    description=(
        "银行托管账户本月拨付给机构的资金，超过本月实际消课应得的金额（消拨不同步）。"
        "应得金额 = 上月末未消课预收费 + 本月预收款 − 本月退费 − 本月末未消课预收费。",
        "Money was paid out of the custody account to the institution ahead of the lessons delivered: "
        "released > earned, where earned = last month's unearned liability + receipts − refunds − this "
        "month's unearned liability.",
    ),
    legal_basis="local release rules (一课一消, 消拨同步)",
    effective_from=PREPAY_NOTICE,
)
def release_ahead(ins: Inspection) -> None:
    """消拨同步: for bank custody with the previous month's statement, released <= earned."""
    latest = _latest(ins)
    if latest is None or latest["mode"] != "bank_custody":
        return
    assert ins.statements is not None
    period = latest["period"]
    previous_period = period_name(month_index(period) - 1)
    previous = next((s for s in ins.statements if s["period"] == previous_period), None)
    if previous is None:
        return
    before = int(previous["unearned_liability_fen"])
    receipts, refunds = int(latest["receipts_fen"]), int(latest["refunds_fen"])
    after, released = int(latest["unearned_liability_fen"]), int(latest["released_fen"])
    earned = before + receipts - refunds - after
    if not released > earned:
        return
    ins.report(
        "RISK-RELEASE-AHEAD",
        period,
        f"{period}从托管账户拨付{yuan(released)}元，超过本月消课应得的{yuan(earned)}元"
        f"（多拨{yuan(released - earned)}元）",
        f"{yuan(released)} yuan was released in {period}, more than the {yuan(earned)} yuan earned by "
        f"lessons given ({yuan(released - earned)} yuan ahead)",
        {
            f"statements[{previous_period}].unearned_liability_fen": before,
            f"statements[{period}].receipts_fen": receipts,
            f"statements[{period}].refunds_fen": refunds,
            f"statements[{period}].unearned_liability_fen": after,
            f"statements[{period}].released_fen": released,
        },
        f"earned = {before} + {receipts} - {refunds} - {after} = {earned}; {released} > {earned} is true",
    )


@rule(
    "RISK-LARGE-RELEASE",
    severity="notice",
    area="risk",
    title=("托管账户单笔大额支出", "Large single payment out of the custody account"),
    description=(
        "最近一期银行托管账户中，单笔拨付或退费超过期初余额的{risk.large_txn_pct}%。"
        "没有全国统一标准，由地方设定（广东：单笔交易额超10%预警）。",
        "In the latest statement of a custody account, a single release or refund exceeds "
        "{risk.large_txn_pct}% of the opening balance. There is no national value; a province sets it "
        "(Guangdong: a warning on any single transaction above 10%).",
    ),
    legal_basis="粤教督〔2021〕9号",
    parameters=("risk.large_txn_pct",),
    effective_from=PREPAY_NOTICE,
)
def large_release(ins: Inspection) -> None:
    """单笔大额交易: a release or refund line with amount × 100 > opening × pct (bank custody with an
    opening balance above 0)."""
    latest = _latest(ins)
    if latest is None or latest["mode"] != "bank_custody":
        return
    opening = int(latest["opening_balance_fen"])
    if opening <= 0:
        return
    pct: int = ins.ctx.values["risk.large_txn_pct"]
    period = latest["period"]
    for line in latest["lines"]:
        kind = line["type"]
        if kind not in ("release", "refund"):
            continue
        amount = int(line["amount_fen"])
        if not amount * 100 > opening * pct:
            continue
        ref = line["ref"]
        kind_zh = "拨付" if kind == "release" else "退费"
        ins.report(
            "RISK-LARGE-RELEASE",
            f"{period}/{ref}",
            f"{period}托管账户单笔{kind_zh}{ref}（{line['date']}）{yuan(amount)}元，超过期初余额"
            f"{yuan(opening)}元的{pct}%",
            f"The {kind} {ref} ({line['date']}) of {yuan(amount)} yuan in {period} exceeds {pct}% of the "
            f"opening balance of {yuan(opening)} yuan",
            {
                f"statements[{period}].opening_balance_fen": opening,
                f"statements[{period}].lines[{ref}]": {
                    "date": line["date"],
                    "type": kind,
                    "amount_fen": amount,
                },
            },
            f"{amount} × 100 = {amount * 100} > {opening} × {pct} = {opening * pct} is true",
        )
