"""The public pages in Chinese (default) or English: ``?lang=en`` (or ``?lang=zh``) switches and a
cookie keeps the choice. Page chrome is written in Chinese in the templates, ``{{ _("…") }}``, and
looked up here; domain labels (list kinds, statuses, decision kinds …) come from :func:`label`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from jinja2 import pass_context
from markupsafe import Markup

from supervision.web.templating import templates

COOKIE = "lang"
ZH, EN = "zh-Hans", "en"

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "category": {"subject": ("学科类", "Subject"), "non_subject": ("非学科类", "Non-subject")},
    "status": {
        "operating": ("正常办学", "Operating"),
        "suspended": ("停业", "Suspended"),
        "closed": ("已注销", "Closed"),
    },
    "licence": {
        "valid": ("有效", "Valid"),
        "suspended": ("暂扣", "Suspended"),
        "revoked": ("已吊销", "Revoked"),
    },
    "stage": {
        "preschool": ("学前", "Preschool"),
        "primary": ("小学", "Primary"),
        "junior": ("初中", "Junior secondary"),
        "senior": ("高中", "Senior secondary"),
    },
    "mode": {"online": ("线上", "Online"), "offline": ("线下", "Offline")},
    "list": {
        "white": ("白名单", "White list"),
        "warning": ("警示名单", "Warning list"),
        "black": ("黑名单", "Black list"),
    },
    "list_long": {
        "white": ("白名单（合规机构）", "White list (compliant institutions)"),
        "warning": (
            "警示名单（整改中或许可证被暂扣）",
            "Warning list (under a rectification order or licence suspended)",
        ),
        "black": ("黑名单（严重违规）", "Black list (serious violations)"),
    },
    "decision": {
        "warning": ("警告", "Warning"),
        "rectification_order": ("责令限期整改", "Rectification order"),
        "suspend_licence": ("暂扣办学许可证", "Licence suspended"),
        "revoke_licence": ("吊销办学许可证", "Licence revoked"),
        "blacklist": ("列入黑名单", "Blacklisted"),
        "lift": ("解除", "Lifted"),
    },
    "severity": {
        "critical": ("严重", "Critical"),
        "major": ("较重", "Major"),
        "minor": ("一般", "Minor"),
        "notice": ("提示", "Notice"),
    },
    "area": {
        "licensing": ("办学许可", "Licensing"),
        "ban": ("禁止新设与转为非营利", "Bans and non-profit conversion"),
        "time": ("培训时间", "Training times"),
        "fees": ("收费与预收费监管", "Fees and prepaid money"),
        "staff": ("从业人员", "Staff"),
        "premises": ("培训场所", "Premises"),
        "registry": ("登记信息", "Registration"),
        "conduct": ("执法人员认定的违规行为", "Conduct found by officers"),
    },
    "change": {
        "entered": ("新列入", "Entered"),
        "left": ("移出", "Left"),
        "changed": ("原因变化", "Reason changed"),
    },
}

# Machine-readable causes of leaving a list (list_change.why) and failed white-list conditions.
WHY: dict[str, tuple[str, str]] = {
    "moved": ("转入{0}", "moved to the {0}"),
    "from": ("原在{0}", "previously on the {0}"),
    "lifted": ("已由决定{0}解除", "lifted by decision {0}"),
    "ended": ("决定{0}期限已于{1}届满", "decision {0} ended on {1}"),
    "licence_restored": ("办学许可证已恢复", "licence restored"),
    "deregistered": ("已不在登记名录中", "no longer registered"),
    "not_operating": ("机构未在正常办学（{0}）", "not operating ({0})"),
    "no_licence": ("未取得办学许可证", "no school-running licence"),
    "licence": ("办学许可证{0}", "licence {0}"),
    "licence_expired": ("办学许可证已过期", "licence expired"),
    "licence_not_yet_issued": ("办学许可证尚未生效", "licence not yet in force"),
    "out_of_scope": ("有课程超出许可范围", "a course is outside the licence scope"),
    "no_escrow": ("预收费未纳入资金监管", "prepaid fees not in a supervised account"),
    "critical": ("存在严重问题：{0}", "critical finding: {0}"),
    "no_longer_applies": ("列入条件已不再满足", "the grounds no longer apply"),
}

EN_TEXT: dict[str, str] = {}
"""Chinese chrome → English; filled from ``i18n_en.py``."""


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in ("en", "zh", "zh-Hans"):
        return EN if asked == "en" else ZH
    return EN if request.cookies.get(COOKIE) == "en" else ZH


def translate(lang: str, text: str) -> str:
    return EN_TEXT.get(text, text) if lang == EN else text


def label_for(lang: str, group: str, key: str | None) -> str:
    if key is None:
        return "—"
    pair = LABELS.get(group, {}).get(key)
    if pair is None:
        return key
    return pair[1] if lang == EN else pair[0]


def why_text(lang: str, code: str, rules: dict[str, dict[str, Any]] | None = None) -> str:
    name, _, rest = code.partition(":")
    args = rest.split(":") if rest else []
    if name in ("moved", "from") and args:
        args = [label_for(lang, "list", args[0])]
    elif name == "licence" and args:
        args = [label_for(lang, "licence", args[0])]
    elif name == "not_operating" and args:
        args = [label_for(lang, "status", args[0])]
    elif name == "critical" and args and rules and args[0] in rules:
        r = rules[args[0]]
        args = [f"{r['title_en'] if lang == EN else r['title_zh']} ({args[0]})"]
    pair = WHY.get(name)
    if pair is None:
        return code
    template = pair[1] if lang == EN else pair[0]
    try:
        return template.format(*args)
    except IndexError:
        return template


@pass_context
def _gettext(ctx: Any, text: str, **values: Any) -> str:
    out = translate(ctx.get("lang", ZH), text)
    return out.format(**values) if values else out


@pass_context
def _label(ctx: Any, group: str, key: str | None) -> str:
    return label_for(ctx.get("lang", ZH), group, key)


@pass_context
def _why(ctx: Any, code: str) -> str:
    return why_text(ctx.get("lang", ZH), code, ctx.get("rules"))


@pass_context
def _pick(ctx: Any, zh: str, en: str) -> str:
    """The Chinese or English one of two texts (catalogue fields come in both)."""
    return en if ctx.get("lang", ZH) == EN else zh


def helpers(lang: str, rules: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Plain functions bound to the page's language (and rule catalogue), passed in the page's context: much
    cheaper for Jinja to call than context-reading globals or macros on the most requested pages."""
    en = lang == EN
    table = EN_TEXT if en else {}
    catalogue = rules or {}

    def gettext(text: str, **values: Any) -> str:
        out = table.get(text, text)
        return out.format(**values) if values else out

    def label(group: str, key: str | None) -> str:
        return label_for(lang, group, key)

    def pick(zh: str, en_text: str) -> str:
        return en_text if en else zh

    def title(rule_id: str) -> str:
        r = catalogue.get(rule_id)
        return (r["title_en"] if en else r["title_zh"]) if r else rule_id

    def rule_titles(ids: list[str]) -> str:
        return ("; " if en else "、").join(title(i) for i in ids)

    def reason_text(reason: str | None) -> str:
        if not reason:
            return "—"
        from supervision.lists.service import parse_reason

        parts = []
        for ids, ref in parse_reason(reason):
            text = rule_titles(ids)
            if ref:
                text += f" ({gettext('决定')} {ref})" if en else f"（决定 {ref}）"
            parts.append(text)
        return ("; " if en else "；").join(parts)

    def badge(kind: str) -> Markup:
        return Markup('<span class="badge badge-{}">{}</span>').format(kind, label("list", kind))

    return {
        "_": gettext,
        "label": label,
        "pick": pick,
        "why": lambda code: why_text(lang, code, catalogue),
        "rule_titles": rule_titles,
        "reason_text": reason_text,
        "badge": badge,
    }


def shanghai_time(instant: Any) -> str:
    """An instant as Beijing time, ``YYYY-MM-DD HH:MM`` (what parents read the clock in)."""
    from supervision.core.clock import SHANGHAI

    return str(instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))


def install() -> None:
    from supervision.web.public.i18n_en import EN as table

    EN_TEXT.update(table)
    g = templates.env.globals
    g["_"] = _gettext
    g["label"] = _label
    g["why"] = _why
    g["pick"] = _pick
    templates.env.filters["shanghai"] = shanghai_time


install()
