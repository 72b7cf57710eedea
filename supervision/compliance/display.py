"""How findings read in the console (中文展示): labels for severities and statuses, parameter names, and a
finding's trace turned into rows a person can follow (facts read, parameters used, comparison)."""

from __future__ import annotations

from typing import Any

from rules.text import CATEGORY_ZH, MODE_ZH, STAGE_ZH, WEEKDAY_ZH, yuan

SEVERITY_ZH = {"critical": "严重", "major": "较重", "minor": "一般", "notice": "提示"}
STATUS_ZH = {"open": "未解决", "resolved": "已解决"}
SCOPE_ZH = {"full": "全量", "institution": "单个机构"}
LABELS = {"severity": SEVERITY_ZH, "status": STATUS_ZH, "scope": SCOPE_ZH}
"""Chinese labels for the console's templates."""
LEVEL_KIND_ZH = {"national": "国家", "province": "省", "city": "市", "district": "区"}

PARAMETER_ZH = {
    "ban.effective_from": "禁止新设审批的起始日",
    "ban.preschool_all_categories": "学龄前禁令覆盖所有类别",
    "npo.deadline": "学科类机构登记为非营利性的截止日",
    "restday.stages": "休息日不得开展学科类培训的学段",
    "time.offline_latest_end": "线下培训最晚结束时间",
    "time.online_latest_end": "线上培训最晚结束时间",
    "online.max_lesson_minutes": "线上每课时最长时长（分钟）",
    "online.min_break_minutes": "线上课间最短休息（分钟）",
    "prepay.max_lessons": "一次预收费最多课时数",
    "prepay.max_months": "一次预收费最长月数",
    "prepay.max_fen": "一次预收费最高金额",
    "price.max_float_up_pct": "指导价最高上浮比例（%）",
    "price.standard_minutes": "定价标准课时长度（分钟）",
    "price.base_fen": "政府指导价基准价",
    "escrow.coverage_pct": "监管资金应覆盖的比例（%）",
    "escrow.reserve_min_fen": "风险保证金最低金额",
    "statement.due_day": "资金监管报表报送截止日（次月）",
    "premises.min_m2_per_student": "生均最小培训场所面积（平方米）",
}


ENUM_ZH: dict[str, dict[str, str]] = {
    "mode": {**MODE_ZH, "bank_custody": "银行托管", "risk_reserve": "风险保证金"},
    "category": CATEGORY_ZH,
    "nature": {"non_profit": "非营利性", "for_profit": "营利性"},
    "status": {
        "operating": "正常办学",
        "suspended": "停业或暂扣",
        "closed": "已注销",
        "valid": "有效",
        "revoked": "已吊销",
    },
}
"""Field name (last part of a fact's path) → code → Chinese, for facts that hold a code."""


def value_zh(value: Any, name: str = "") -> str:
    """A fact or parameter value as a person reads it; ``name`` is the field or parameter it belongs to."""
    if isinstance(value, str) and name in ENUM_ZH and value in ENUM_ZH[name]:
        return f"{ENUM_ZH[name][value]}（{value}）"
    if name == "weekday" and isinstance(value, int) and 1 <= value <= 7:
        return WEEKDAY_ZH[value]
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int) and name.endswith("_fen"):
        return f"{yuan(value)}元"
    if name == "price.base_fen" and isinstance(value, dict):
        parts = []
        for mode, bands in value.items():
            shown = []
            for i, band in enumerate(bands):
                size, base = band.get("max_class_size"), band.get("base_fen", 0)
                label = f"{size}人及以下" if size is not None else ("更大班额" if i else "不限班额")
                shown.append(f"{label}{yuan(base)}元")
            parts.append(f"{MODE_ZH.get(mode, mode)}：{'，'.join(shown)}")
        return "；".join(parts)
    if isinstance(value, dict):
        if not value:
            return "（空）"
        return "；".join(f"{MODE_ZH.get(k, STAGE_ZH.get(k, k))}：{value_zh(v)}" for k, v in value.items())
    if isinstance(value, list):
        if not value:
            return "（空）"
        return "、".join(
            STAGE_ZH.get(v, MODE_ZH.get(v, v)) if isinstance(v, str) else value_zh(v) for v in value
        )
    return str(value)


def trace_view(trace: dict[str, Any], levels: dict[str, str]) -> dict[str, Any]:
    """Rows for the trace of a finding: facts (field, value), parameters (name in Chinese, value, effective
    date, level, citation) and the comparison."""
    facts = [
        {"field": key, "value": value_zh(value, key.rsplit(".", 1)[-1])}
        for key, value in (trace.get("facts") or {}).items()
    ]
    parameters = [
        {
            "name": p.get("name", ""),
            "label": PARAMETER_ZH.get(p.get("name", ""), p.get("name", "")),
            "value": value_zh(p.get("value"), p.get("name", "")),
            "effective_from": p.get("effective_from"),
            "level": levels.get(p.get("level", ""), p.get("level", "")),
            "citation": p.get("citation", ""),
        }
        for p in trace.get("parameters") or ()
    ]
    return {"facts": facts, "parameters": parameters, "comparison": trace.get("comparison", "")}
